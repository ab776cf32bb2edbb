"""Writes packages/onnx/test/fixtures/detection/*: torchvision detection models at toy size (a 3-layer backbone of
8 channels, 3 classes, a 64-pixel input; random weights, seed 0) exported by torch.onnx, and PyTorch's goldens;
plus RoiAlign's max mode against NumPy written from onnxruntime's kernel (torchvision has no max mode).

- faster_rcnn_opset{11,16}: torchvision's FasterRCNN (its transform, RPN with anchors and NMS, MultiScaleRoIAlign
  box pooling, box head, postprocessing) with box_score_thresh 0 so that random weights still detect; opset 11
  exports RoiAlign-10, opset 16 RoiAlign-16. torchvision 0.14 writes RoiAlign-16 without its
  coordinate_transformation_mode, so ONNX's default (half_pixel) applies and the file computes something else than
  PyTorch (onnxruntime follows the file too); torchvision 0.15 writes output_half_pixel (its aligned=False), which the
  opset-16 file here gets set by hand, so that it is what current exports are;
- mask_rcnn_opset11: MaskRCNN (a second RoiAlign, 14x14, for the mask head, and the masks pasted into the picture).

input.npy is the picture [3, 64, 64] (float32) every model gets; <name>.json holds the outputs (boxes, labels,
scores) and Grad-CAM of the first detection at 'backbone', and <name>.gradient.npy the gradient of Σ scores with
respect to the input, by autograd on the torchvision module; mask_rcnn_opset11.masks.npy its masks [8, 1, 64, 64].

Run with Debian's python3-torch / python3-torchvision / python3-onnx:
    /usr/bin/python3 scripts/make-onnx-detection-fixtures.py
"""
import json
import os

import numpy as np
import onnx
import torch
from torch import nn
from torchvision.models.detection import FasterRCNN, MaskRCNN
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
from torchvision.models.detection.rpn import AnchorGenerator
from torchvision.ops import MultiScaleRoIAlign

OUT = os.path.join(os.path.dirname(__file__), '..', 'packages', 'onnx', 'test', 'fixtures', 'detection')
os.makedirs(OUT, exist_ok=True)


def backbone():
    b = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 8, 3, 1, 1),
                      nn.ReLU())
    b.out_channels = 8
    return b


def toy(cls):
    torch.manual_seed(0)
    anchors = AnchorGenerator(sizes=((8, 16, 32),), aspect_ratios=((0.5, 1.0, 2.0),))
    kwargs = dict(min_size=64, max_size=64, rpn_anchor_generator=anchors, box_roi_pool=MultiScaleRoIAlign(['0'], 7, 2),
                  box_head=TwoMLPHead(8 * 7 * 7, 32), box_predictor=FastRCNNPredictor(32, 3),
                  rpn_pre_nms_top_n_test=40, rpn_post_nms_top_n_test=12, box_score_thresh=0.0, box_detections_per_img=8)
    if cls is MaskRCNN:
        kwargs.update(mask_roi_pool=MultiScaleRoIAlign(['0'], 14, 2), mask_head=MaskRCNNHeads(8, (8, 8), 1),
                      mask_predictor=MaskRCNNPredictor(8, 8, 3))
    return cls(backbone(), **kwargs).eval()


def save(name, model, x, opset):
    path = os.path.join(OUT, name + '.onnx')
    torch.onnx.export(model, ([x],), path, opset_version=opset, do_constant_folding=True)
    if opset >= 16:
        m = onnx.load(path)
        for node in m.graph.node:
            if node.op_type == 'RoiAlign':
                node.attribute.append(onnx.helper.make_attribute('coordinate_transformation_mode', 'output_half_pixel'))
        onnx.save(m, path)
    xg = x.clone().requires_grad_(True)
    feats = {}

    def keep(_module, _inputs, output):
        output.retain_grad()
        feats['a'] = output

    hook = model.backbone.register_forward_hook(keep)
    out = model([xg])[0]
    hook.remove()
    out['scores'].sum().backward(retain_graph=True)
    # Grad-CAM of the first detection at 'backbone': its score's gradient, mean-pooled per channel, weighting A
    a = feats['a']
    ga = torch.autograd.grad(out['scores'][0], a)[0]
    cam = torch.relu((ga.mean(dim=(2, 3), keepdim=True) * a).sum(1))[0]
    np.save(os.path.join(OUT, name + '.gradient.npy'), xg.grad.numpy().astype(np.float32))
    if 'masks' in out:
        np.save(os.path.join(OUT, name + '.masks.npy'), out['masks'].detach().numpy().astype(np.float32))
    golden = {'outputs': {k: v.detach().numpy().ravel().tolist() for k, v in out.items() if k != 'masks'},
              'shapes': {k: list(v.shape) for k, v in out.items()},
              'gradcam': cam.detach().numpy().ravel().tolist(), 'gradcamShape': list(cam.shape)}
    with open(os.path.join(OUT, name + '.json'), 'w') as f:
        json.dump(golden, f)
    print(name, {k: list(v.shape) for k, v in out.items()}, os.path.getsize(path), 'bytes')


def taps(c, size):
    if c < -1 or c > size:
        return []
    y = max(c, 0.0)
    low = int(np.floor(y))
    if low >= size - 1:
        return [(size - 1, 1.0), (size - 1, 0.0)]
    return [(low, 1 - (y - low)), (low + 1, y - low)]


def roi_align_max(x, rois, batch, oh, ow, ratio, scale, half_pixel):
    """onnxruntime's RoiAlign in max mode, written from its kernel: per bin, max over samples of max(w·v) of 4 taps."""
    n, c, h, w = x.shape
    out = np.zeros((len(rois), c, oh, ow))
    off = 0.5 if half_pixel else 0.0
    for r, (roi, b) in enumerate(zip(rois, batch)):
        x1, y1, x2, y2 = [v * scale for v in roi]
        sw, sh = x1 - off, y1 - off
        rw, rh = x2 - off - sw, y2 - off - sh
        if not half_pixel:
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        bh, bw = rh / oh, rw / ow
        gh = ratio if ratio > 0 else int(np.ceil(rh / oh))
        gw = ratio if ratio > 0 else int(np.ceil(rw / ow))
        for ph in range(oh):
            for pw in range(ow):
                best = None
                for iy in range(gh):
                    yy = sh + ph * bh + (iy + 0.5) * bh / gh
                    for ix in range(gw):
                        xx = sw + pw * bw + (ix + 0.5) * bw / gw
                        ty, tx = taps(yy, h), taps(xx, w)
                        if not ty or not tx:
                            vals = np.zeros(c)
                        else:
                            vals = np.max([wy * wx * x[b, :, ry, rx] for ry, wy in ty for rx, wx in tx], axis=0)
                        best = vals if best is None else np.maximum(best, vals)
                out[r, :, ph, pw] = best
    return out


def main():
    torch.manual_seed(1)
    x = torch.rand(3, 64, 64)
    np.save(os.path.join(OUT, 'input.npy'), x.numpy().astype(np.float32))
    save('faster_rcnn_opset11', toy(FasterRCNN), x, 11)
    save('faster_rcnn_opset16', toy(FasterRCNN), x, 16)
    save('mask_rcnn_opset11', toy(MaskRCNN), x, 11)
    rng = np.random.default_rng(0)
    feat = rng.normal(size=(2, 3, 9, 11))
    rois = np.array([[0.5, 1.0, 7.5, 6.0], [2.0, 2.0, 3.0, 2.5], [-3.0, -2.0, 14.0, 12.0], [4.0, 0.0, 10.9, 8.9]])
    batch = np.array([1, 0, 1, 0])
    cases = []
    for ratio, half, oh, ow in [(2, True, 3, 2), (0, False, 2, 4), (1, True, 1, 1)]:
        cases.append({'ratio': ratio, 'half_pixel': half, 'oh': oh, 'ow': ow,
                      'out': roi_align_max(feat, rois, batch, oh, ow, ratio, 0.5, half).ravel().tolist()})
    with open(os.path.join(OUT, 'roi_align_max.json'), 'w') as f:
        json.dump({'x': feat.ravel().tolist(), 'shape': list(feat.shape), 'rois': rois.ravel().tolist(),
                   'batch': batch.tolist(), 'scale': 0.5, 'cases': cases}, f)


if __name__ == '__main__':
    main()
