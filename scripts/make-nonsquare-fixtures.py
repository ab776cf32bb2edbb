"""Writes the small fixtures of the non-square tests to packages/cli/test/nonsquare/.

- corner_net.onnx: a tiny CNN with a fixed non-square input [1, 3, 12, 20] (Conv 3→4 3×3 with positive weights and a
  bias of −0.5, ReLU, MaxPool 2, global average pool, Linear 4→5 with positive weights, class 0's the largest; seed 0). A black picture
  activates nothing, so its score depends only on bright pixels: a picture bright only in its top-right corner must
  get every method's mass there. corner_net_dynamic.onnx: the same weights, batch, height and width dynamic.
- corner_detector.onnx: torchvision's Faster R-CNN at toy size (the backbone and heads of
  make-onnx-detection-fixtures.py, min_size 32, max_size 64) exported with dynamic height and width, and
  corner_detector.json its boxes and scores for the input [3, 24, 40] of corner_detector.input.npy.
- upsample.json: maps [2, 3, 5] and [1, 4, 2] with PyTorch's F.interpolate(bilinear, align_corners=False) to
  [12, 20] and [7, 13] (and [9, 3]), the oracle of the CAM upsampling at H ≠ W.

Run with Debian's python3-torch / python3-onnx / python3-torchvision:
    /usr/bin/python3 scripts/make-nonsquare-fixtures.py
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.rpn import AnchorGenerator
from torchvision.ops import MultiScaleRoIAlign

OUT = os.path.join(os.path.dirname(__file__), '..', 'packages', 'cli', 'test', 'nonsquare')
os.makedirs(OUT, exist_ok=True)


class CornerNet(nn.Module):
    def __init__(self):
        super().__init__()
        conv = nn.Conv2d(3, 4, 3, padding=1)
        with torch.no_grad():
            conv.weight.copy_(torch.rand(4, 3, 3, 3) / 27 + 0.5 / 27)
            conv.bias.fill_(-0.5)
        self.features = nn.Sequential(conv, nn.ReLU(), nn.MaxPool2d(2))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 5)
        with torch.no_grad():
            self.fc.weight.copy_(torch.rand(5, 4) + 0.5)
            self.fc.weight[0] += 1.5  # class 0 above the others everywhere, so Finer-CAM's differences are positive too
            self.fc.bias.zero_()

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


def corner_nets():
    torch.manual_seed(0)
    model = CornerNet().eval()
    x = torch.zeros(1, 3, 12, 20)
    torch.onnx.export(model, x, os.path.join(OUT, 'corner_net.onnx'), opset_version=13, input_names=['image'],
                      output_names=['logits'])
    torch.onnx.export(model, x, os.path.join(OUT, 'corner_net_dynamic.onnx'), opset_version=13, input_names=['image'],
                      output_names=['logits'], dynamic_axes={'image': {0: 'batch', 2: 'height', 3: 'width'},
                                                              'logits': {0: 'batch'}})


def corner_detector():
    torch.manual_seed(0)
    b = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 8, 3, 1, 1),
                      nn.ReLU())
    b.out_channels = 8
    anchors = AnchorGenerator(sizes=((8, 16, 32),), aspect_ratios=((0.5, 1.0, 2.0),))
    model = FasterRCNN(b, min_size=32, max_size=64, rpn_anchor_generator=anchors,
                       box_roi_pool=MultiScaleRoIAlign(['0'], 7, 2), box_head=TwoMLPHead(8 * 7 * 7, 32),
                       box_predictor=FastRCNNPredictor(32, 3), rpn_pre_nms_top_n_test=40, rpn_post_nms_top_n_test=12,
                       box_score_thresh=0.0, box_detections_per_img=8).eval()
    torch.manual_seed(1)
    x = torch.rand(3, 24, 40)
    path = os.path.join(OUT, 'corner_detector.onnx')
    torch.onnx.export(model, ([x],), path, opset_version=11, do_constant_folding=True, input_names=['images'],
                      output_names=['boxes', 'labels', 'scores'], dynamic_axes={'images': {1: 'height', 2: 'width'}})
    np.save(os.path.join(OUT, 'corner_detector.input.npy'), x.numpy().astype(np.float32))
    with torch.no_grad():
        out = model([x])[0]
    with open(os.path.join(OUT, 'corner_detector.json'), 'w') as f:
        json.dump({'boxes': out['boxes'].numpy().ravel().tolist(), 'scores': out['scores'].numpy().tolist(),
                   'labels': out['labels'].numpy().tolist()}, f)


def upsample():
    rng = np.random.default_rng(0)
    cases = []
    for shape, size in [((2, 3, 5), (12, 20)), ((1, 4, 2), (7, 13)), ((1, 4, 2), (9, 3))]:
        maps = rng.normal(size=shape).astype(np.float32)
        up = F.interpolate(torch.from_numpy(maps)[:, None], size=size, mode='bilinear', align_corners=False)[:, 0]
        cases.append({'shape': list(shape), 'size': list(size), 'maps': maps.ravel().tolist(),
                      'up': up.numpy().ravel().tolist()})
    with open(os.path.join(OUT, 'upsample.json'), 'w') as f:
        json.dump(cases, f)


if __name__ == '__main__':
    corner_nets()
    corner_detector()
    upsample()
