#!/usr/bin/python3
"""Writes packages/nn/test/fixtures/detection: torchvision 0.14's fasterrcnn_resnet50_fpn, reduced, with random
weights, and what it detects.

Run with Debian's python3 (torch 1.13, torchvision 0.14):  /usr/bin/python3 scripts/make-nn-detection-fixtures.py

The reduced model is torchvision's own FasterRCNN class on a BackboneWithFPN (IntermediateLayerGetter over a
ResNet-50 with FrozenBatchNorm2d, layer1..layer4 as '0'..'3', LastLevelMaxPool), RPNHead, MultiScaleRoIAlign,
TwoMLPHead and FastRCNNPredictor, as gradlens's fasterrcnnResnet50Fpn builds it with widthDivisor 16: every ResNet
width, the FPN's 256 and the box head's 1024 divided by 16; 5 classes; min_size 128, max_size 160; 40 proposals per
level before NMS, 100 after; 12 detections per image; MultiScaleRoIAlign's canonical_scale 56 instead of 224, so
that the proposals of these small images reach every pyramid level (the script prints how many per level).
Weights drawn with torch.manual_seed(0): conv and linear weights U(±√(3 / fan_in)), biases and running means
U(±0.2), norm weights and running variances 0.5 + U(0, 1); the class logits' weight rows shifted to mean 0 (so that
labels vary), the RPN's box deltas ×0.1 (so that proposals stay near their anchors rather than clipped to the image).

- fasterrcnn_resnet50_fpn.pth: the state dict (torch.save).
- common.npz: two images [3, 60, 72] and [3, 54, 78] (values in [0, 1]: noise and a few bright rectangles);
  the RPN's proposal count per image (proposals); per image i the detections boxes<i> [K, 4], labels<i>, scores<i> (float32 run), and grad<i>, the gradient of
  image 0's first detection score with respect to image i (float64 run, which takes the same decisions: checked);
  also NMS cases (random boxes, scores, groups; batched_nms's result on both its CPU paths) and BoxCoder cases
  (deltas past the log(1000/16) clamp).
- model.json: the builder options, the element count and SHA-256 of the sorted state-dict names, and the full-size
  fasterrcnn_resnet50_fpn's state-dict names and shapes as its published weights hold them (FrozenBatchNorm2d).
"""
import hashlib
import json
import math
import os

import numpy as np
import torch
import torch.nn as nn
from torchvision.models import mobilenetv3, resnet
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection import FasterRCNN, RetinaNet
from torchvision.models.detection._utils import BoxCoder
from torchvision.models.detection.backbone_utils import BackboneWithFPN, _resnet_fpn_extractor
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.ops import MultiScaleRoIAlign, batched_nms, roi_align
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool, LastLevelP6P7
from torchvision.ops.misc import FrozenBatchNorm2d

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'packages', 'nn', 'test', 'fixtures', 'detection')
D = 16
NUM_CLASSES = 5
OPTIONS = {'widthDivisor': D, 'numClasses': NUM_CLASSES, 'minSize': 128, 'maxSize': 160, 'rpnPreNmsTopN': 40,
           'rpnPostNmsTopN': 100, 'roiCanonicalScale': 56, 'boxDetectionsPerImg': 12}
WIDTH_MULT = 0.25
CLS_SCALE = 10
RETINANET = {'widthDivisor': D, 'numClasses': NUM_CLASSES, 'minSize': 128, 'maxSize': 160, 'detectionsPerImg': 6,
             'topkCandidates': 100}
SHAPES = [(3, 60, 72), (3, 54, 78)]


def w(c):
    return max(1, c // D)


class SlimResNet(resnet.ResNet):
    """torchvision's ResNet-50 with FrozenBatchNorm2d and every width divided by D (gradlens's widthDivisor)."""

    def __init__(self):
        super().__init__(resnet.Bottleneck, [3, 4, 6, 3], num_classes=1, norm_layer=FrozenBatchNorm2d)
        self.inplanes = w(64)
        self.conv1 = nn.Conv2d(3, w(64), kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = FrozenBatchNorm2d(w(64))
        self.layer1 = self._make_layer(resnet.Bottleneck, w(64), 3)
        self.layer2 = self._make_layer(resnet.Bottleneck, w(128), 4, stride=2)
        self.layer3 = self._make_layer(resnet.Bottleneck, w(256), 6, stride=2)
        self.layer4 = self._make_layer(resnet.Bottleneck, w(512), 3, stride=2)
        self.fc = nn.Linear(w(512) * 4, 1)


def faster_rcnn(backbone, anchors=None):
    """FasterRCNN with the reduced settings and heads on a BackboneWithFPN of w(256) channels."""
    channels = w(256)
    rep = w(1024)
    return FasterRCNN(backbone, num_classes=None, min_size=OPTIONS['minSize'], max_size=OPTIONS['maxSize'],
                      rpn_anchor_generator=anchors,
                      rpn_pre_nms_top_n_test=OPTIONS['rpnPreNmsTopN'], rpn_post_nms_top_n_test=OPTIONS['rpnPostNmsTopN'],
                      box_detections_per_img=OPTIONS['boxDetectionsPerImg'],
                      box_roi_pool=MultiScaleRoIAlign(['0', '1', '2', '3'], 7, 2, canonical_scale=OPTIONS['roiCanonicalScale']),
                      box_head=TwoMLPHead(channels * 7 * 7, rep), box_predictor=FastRCNNPredictor(rep, NUM_CLASSES))


def resnet50_fpn():
    return_layers = {'layer1': '0', 'layer2': '1', 'layer3': '2', 'layer4': '3'}
    backbone = BackboneWithFPN(SlimResNet(), return_layers, [w(64) * 4, w(128) * 4, w(256) * 4, w(512) * 4], w(256),
                               extra_blocks=LastLevelMaxPool())
    return faster_rcnn(backbone)


def mobilenet_fpn_backbone(features, channels):
    """_mobilenet_extractor(fpn=True) with the FPN's 256 channels as given."""
    stages = [0] + [i for i, b in enumerate(features) if getattr(b, '_is_cn', False)] + [len(features) - 1]
    returned = [len(stages) - 2, len(stages) - 1]
    return_layers = {f'{stages[k]}': str(v) for v, k in enumerate(returned)}
    in_channels = [features[stages[i]].out_channels for i in returned]
    return BackboneWithFPN(features, return_layers, in_channels, channels, extra_blocks=LastLevelMaxPool())


def mobilenet_anchors():
    return AnchorGenerator(((32, 64, 128, 256, 512),) * 3, ((0.5, 1.0, 2.0),) * 3)


def mobilenet_v3_large_fpn():
    setting, last = mobilenetv3._mobilenet_v3_conf('mobilenet_v3_large', width_mult=WIDTH_MULT)
    features = mobilenetv3.MobileNetV3(setting, last, num_classes=1, norm_layer=FrozenBatchNorm2d).features
    return faster_rcnn(mobilenet_fpn_backbone(features, w(256)), mobilenet_anchors())


def retinanet_resnet50_fpn():
    return_layers = {'layer2': '0', 'layer3': '1', 'layer4': '2'}
    c = w(256)
    backbone = BackboneWithFPN(SlimResNet(), return_layers, [w(128) * 4, w(256) * 4, w(512) * 4], c,
                               extra_blocks=LastLevelP6P7(c, c))
    return RetinaNet(backbone, num_classes=NUM_CLASSES, min_size=OPTIONS['minSize'], max_size=OPTIONS['maxSize'],
                     detections_per_img=RETINANET['detectionsPerImg'], topk_candidates=RETINANET['topkCandidates'])


def full_size(name):
    """The full-size model as torchvision builds it for its published weights (is_trained: FrozenBatchNorm2d;
    weights=None alone would give BatchNorm2d), without downloading them."""
    if name == 'fasterrcnn_resnet50_fpn':
        return FasterRCNN(_resnet_fpn_extractor(resnet.resnet50(norm_layer=FrozenBatchNorm2d), 3), num_classes=91)
    if name == 'retinanet_resnet50_fpn':
        backbone = _resnet_fpn_extractor(resnet.resnet50(norm_layer=FrozenBatchNorm2d), 3, returned_layers=[2, 3, 4],
                                         extra_blocks=LastLevelP6P7(256, 256))
        return RetinaNet(backbone, num_classes=91)
    features = mobilenetv3.mobilenet_v3_large(norm_layer=FrozenBatchNorm2d).features
    return FasterRCNN(mobilenet_fpn_backbone(features, 256), num_classes=91, rpn_anchor_generator=mobilenet_anchors())


# name → (builder, the TypeScript builder's options, the Faster R-CNN class logits' weight scale)
MODELS = {
    'fasterrcnn_resnet50_fpn': (resnet50_fpn, OPTIONS, 1),
    'fasterrcnn_mobilenet_v3_large_fpn': (mobilenet_v3_large_fpn, {**OPTIONS, 'widthMult': WIDTH_MULT}, CLS_SCALE),
    'retinanet_resnet50_fpn': (retinanet_resnet50_fpn, RETINANET, 0.3),
}


def randomise(model, cls_scale):
    sd = model.state_dict()
    with torch.no_grad():
        for name in sorted(sd):
            t = sd[name]
            u = torch.rand(t.shape, dtype=torch.float64)
            if name.endswith('running_var') or (t.dim() == 1 and name.endswith('weight')):
                v = 0.5 + u
            elif name.endswith('running_mean') or name.endswith('bias'):
                v = 0.2 * (2 * u - 1)
            else:
                fan_in = t[0].numel()
                v = (2 * u - 1) * math.sqrt(3 / fan_in)
                if name == 'head.classification_head.cls_logits.weight':
                    # RetinaNet's sigmoid scores spread rather than saturate
                    v = v * cls_scale
                if name == 'roi_heads.box_predictor.cls_score.weight':
                    # rows of mean 0: the ReLU features' common part favours no class, so labels vary
                    v = (v - v.mean(1, keepdim=True)) * cls_scale
            if name.startswith('rpn.head.bbox_pred.') or name.startswith('head.regression_head.bbox_reg.'):
                v = v * 0.1
            # through float16, so that the .pth is saved in half precision (half the bytes) with these values
            t.copy_(v.half().to(t.dtype))


def images(g):
    out = []
    for shape in SHAPES:
        x = torch.rand(shape, generator=g, dtype=torch.float64) * 0.3
        _, h, w_ = shape
        for _ in range(4):
            y0 = int(torch.randint(0, h - 15, (1,), generator=g))
            x0 = int(torch.randint(0, w_ - 15, (1,), generator=g))
            hh = int(torch.randint(8, 24, (1,), generator=g))
            ww = int(torch.randint(8, 24, (1,), generator=g))
            colour = torch.rand(3, 1, 1, generator=g, dtype=torch.float64)
            x[:, y0:y0 + hh, x0:x0 + ww] = 0.4 + 0.6 * colour
        out.append(x.float())
    return out


def nms_cases(g):
    cases = {}
    for tag, n in (('nms_trick', 300), ('nms_vanilla', 1100)):
        xy = torch.rand(n, 2, generator=g) * 200
        wh = 5 + torch.rand(n, 2, generator=g) * 60
        boxes = torch.cat([xy, xy + wh], 1)
        scores = torch.rand(n, generator=g)
        groups = torch.randint(0, 4, (n,), generator=g)
        keep = batched_nms(boxes, scores, groups, 0.5)
        cases.update({f'{tag}_boxes': boxes.numpy(), f'{tag}_scores': scores.numpy(),
                      f'{tag}_groups': groups.int().numpy(), f'{tag}_keep': keep.int().numpy()})
    refs = torch.tensor([[0, 0, 10, 20], [5, 5, 50, 25], [3, 4, 4, 9]], dtype=torch.float32)
    deltas = torch.randn(3, 8, generator=g) * 3
    deltas[0, 2] = 9  # past the clamp at log(1000 / 16)
    deltas[1, 7] = 30
    # roi_align (aligned=False, sampling 2, scale 1/2) on a map much larger than the rois, and with whole-map rois; the
    # gradient of Σ out · weights with respect to the map
    x = torch.randn(2, 3, 40, 50, generator=g, dtype=torch.float64)
    for tag, rois in (('roi_small', [[0, 10, 12, 30, 40], [1, 50, 20, 66, 31], [0, -6, -4, 12, 10], [1, 80, 60, 99, 79],
                                     [0, 31.5, 7.25, 33, 8]]),
                      ('roi_large', [[0, 0, 0, 99, 79], [1, 20, 10, 90, 70]])):
        xr = x.clone().requires_grad_(True)
        rt = torch.tensor(rois, dtype=torch.float64)
        out = roi_align(xr, rt, output_size=(7, 7), spatial_scale=0.5, sampling_ratio=2, aligned=False)
        wt = torch.randn(out.shape, generator=g, dtype=torch.float64)
        (out * wt).sum().backward()
        cases.update({f'{tag}_rois': rt.float().numpy(), f'{tag}_out': out.detach().float().numpy(),
                      f'{tag}_weights': wt.float().numpy(), f'{tag}_grad': xr.grad.float().numpy()})
    cases['roi_map'] = x.float().numpy()
    cases['coder_refs'] = refs.numpy()
    cases['coder_deltas'] = deltas.numpy()
    cases['coder_boxes'] = BoxCoder((10.0, 10.0, 5.0, 5.0)).decode_single(deltas, refs).numpy()
    return cases


def run_model(name, build, cls_scale, xs):
    """Random weights, detections (float32), the float64 run's decisions checked and its input gradient."""
    torch.manual_seed(0)
    model = build()
    randomise(model, cls_scale)
    model.eval()
    expected = {}
    proposals = []
    hook = model.rpn.register_forward_hook(lambda _m, _i, o: proposals.extend(o[0])) if hasattr(model, 'rpn') else None
    with torch.no_grad():
        dets32 = model(xs)
    if hook:
        hook.remove()
    for i, p in enumerate(proposals):
        # torchvision's LevelMapper: which pyramid level MultiScaleRoIAlign pools each proposal from
        s = torch.sqrt((p[:, 2] - p[:, 0]) * (p[:, 3] - p[:, 1]))
        levels = torch.clamp(torch.floor(4 + torch.log2(s / OPTIONS['roiCanonicalScale']) + 1e-6), 2, 5).int()
        print(f'{name} image {i}: {len(p)} proposals, per level 2..5: {torch.bincount(levels - 2, minlength=4).tolist()}')
    if proposals:
        expected['proposals'] = np.array([len(p) for p in proposals], dtype=np.int32)
    # float64: the same decisions (labels, order), then the input gradient of image 0's first score
    m64 = build()
    m64.load_state_dict(model.state_dict())
    m64 = m64.double().eval()
    x64 = [x.double().requires_grad_(True) for x in xs]
    dets64 = m64(x64)
    for i, (a, b) in enumerate(zip(dets32, dets64)):
        assert a['labels'].tolist() == b['labels'].tolist(), f'image {i}: float32 and float64 labels differ'
        err = (a['boxes'].double() - b['boxes'].detach()).abs().max().item()
        assert err < 1e-2, f'image {i}: float32 and float64 boxes differ by {err}'
        scores = a['scores'].double()
        gaps = (scores[:-1] - scores[1:]).abs()
        print(f'{name} image {i}: {len(a["labels"])} detections, labels {a["labels"].tolist()}, scores '
              f'{[round(s, 4) for s in a["scores"].tolist()]}, smallest score gap '
              f'{gaps.min().item() if len(gaps) else None}, float32 vs float64 boxes {err:.2e}')
        expected[f'boxes{i}'] = a['boxes'].numpy()
        expected[f'labels{i}'] = a['labels'].int().numpy()
        expected[f'scores{i}'] = a['scores'].numpy()
    dets64[0]['scores'][0].backward()
    # image 1's gradient is 0 (image 0's rois pool image 0's maps alone): the test checks that without a fixture
    assert x64[1].grad.abs().max().item() == 0
    expected['grad0'] = x64[0].grad.float().numpy()
    print(f'{name} grad norm', float(x64[0].grad.norm()))
    np.savez_compressed(os.path.join(OUT, f'{name}.npz'), **expected)
    sd = model.state_dict()
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in sd.items()}, os.path.join(OUT, f'{name}.pth'))
    with torch.no_grad():
        full = full_size(name)
    return {
        'options': MODELS[name][1],
        'stateDictNames': hashlib.sha256('\n'.join(sorted(sd)).encode()).hexdigest(),
        'numel': sum(t.numel() for t in sd.values()),
        'fullSize': [[k, list(v.shape)] for k, v in full.state_dict().items()],
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(1)
    xs = images(g)
    common = {f'image{i}': x.numpy() for i, x in enumerate(xs)}
    common.update(nms_cases(g))
    np.savez_compressed(os.path.join(OUT, 'common.npz'), **common)
    info = {name: run_model(name, build, cls_scale, xs) for name, (build, _, cls_scale) in MODELS.items()}
    with open(os.path.join(OUT, 'models.json'), 'w') as f:
        json.dump(info, f)
        f.write('\n')
    for name in sorted(os.listdir(OUT)):
        print(name, os.path.getsize(os.path.join(OUT, name)))


if __name__ == '__main__':
    main()
