"""Writes packages/onnx/test/fixtures/yolo/*: small YOLO-like networks exported to ONNX exactly in Ultralytics'
layouts, with Ultralytics' metadata_props, and PyTorch's goldens (no ultralytics package: the heads are written here
line for line as Ultralytics' export-mode Detect modules).

- yolov8.onnx: YOLOv8/v11 layout. yolov8.yaml's backbone and FPN/PAN neck at width 8 (Conv(+SiLU), C2f with one
  bottleneck, SPPF's max pools, nearest upsampling, concats; Detect on model.14 / 17 / 20 at strides 8/16/32), the
  anchor-free Detect head (box branch with DFL over reg_max bins, class branch, sigmoid scores) giving `output0` [1, 4 + C, A] (cx, cy, w, h in input pixels,
  then the C class scores; no objectness). Input `images` [1, 3, 64, 64]; metadata task 'detect', names (a Python
  dict string), imgsz '[64, 64]', stride '32'.
- yolov5.onnx: YOLOv5 layout, anchor-based head over strides 8/16 (3 anchors each), `output0` [1, A, 5 + C]
  (cx, cy, w, h, objectness, class scores); metadata stride and names only (as yolov5's export.py).
- yolov5_none.onnx: yolov5's network with its objectness biases at -20, so that nothing passes the threshold.

picture.png (80 x 48 RGB) is letterboxed to 64 as Ultralytics' LetterBox (scale min(64/h, 64/w), new size
round(w r) x round(h r), pad (114, 114, 114) split round(d/2 -+ 0.1)), the resize done by PIL's bilinear (Ultralytics
uses cv2 INTER_LINEAR, which PIL equals when enlarging but not when shrinking: PIL antialiases); letterbox.npy is the
[3, 64, 64] float input (/255). <name>.json holds the raw output, the detections after Ultralytics' postprocess
(confidence threshold 0.25, class-wise NMS by torchvision.ops.nms with the max_wh offset, IoU 0.7 for v8 and 0.45 for
v5, max 300; v5: objectness > conf first, score = obj x cls), each with anchor index, class, score, box [x1, y1, x2,
y2] in input pixels and in the picture's (scale_boxes), and the gradient of detection 0's score (v5: obj x cls) with
respect to the letterboxed input, by autograd on the PyTorch module.

Run with Debian's python3-torch / python3-torchvision / python3-onnx:
    /usr/bin/python3 scripts/make-onnx-yolo-fixtures.py
"""
import json
import os

import numpy as np
import onnx
import torch
import torchvision
from PIL import Image
from torch import nn

OUT = os.path.join(os.path.dirname(__file__), '..', 'packages', 'onnx', 'test', 'fixtures', 'yolo')
os.makedirs(OUT, exist_ok=True)
SIDE = 64
NAMES = {0: 'person', 1: 'bicycle', 2: "dog's toy"}
NC = len(NAMES)
MAX_WH = 7680
BIAS8 = -1.0  # v8 class biases and final class-conv gain, v5 objectness bias: a few dozen detections, spread
GAIN = 30.0
OBJ5 = -1.0


class Conv(nn.Module):
    """Ultralytics' Conv after fusing (export fuses the BatchNorm into the conv): conv with bias, SiLU."""

    def __init__(self, c1, c2, k=3, s=1):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.conv(x))


class DFL(nn.Module):
    """Ultralytics' DFL: a fixed 1x1 conv of weights 0..c1-1 over the softmax of each side's bins."""

    def __init__(self, c1):
        super().__init__()
        self.conv = nn.Conv2d(c1, 1, 1, bias=False).requires_grad_(False)
        self.conv.weight.data[:] = torch.arange(c1, dtype=torch.float).view(1, c1, 1, 1)
        self.c1 = c1

    def forward(self, x):
        b, _, a = x.shape
        return self.conv(x.view(b, 4, self.c1, a).transpose(2, 1).softmax(1)).view(b, 4, a)


def make_anchors(shapes, strides, offset=0.5):
    points, stride_t = [], []
    for (h, w), s in zip(shapes, strides):
        sx = torch.arange(w, dtype=torch.float) + offset
        sy = torch.arange(h, dtype=torch.float) + offset
        sy, sx = torch.meshgrid(sy, sx, indexing='ij')
        points.append(torch.stack((sx, sy), -1).view(-1, 2))
        stride_t.append(torch.full((h * w, 1), s, dtype=torch.float))
    return torch.cat(points).transpose(0, 1), torch.cat(stride_t).transpose(0, 1)


class DetectV8(nn.Module):
    """Ultralytics' Detect in export mode: [1, 4 + nc, A], boxes decoded by DFL and dist2bbox (xywh)."""

    def __init__(self, nc, ch, strides, side, reg_max=4):
        super().__init__()
        self.nc, self.reg_max, self.no = nc, reg_max, nc + 4 * reg_max
        self.cv2 = nn.ModuleList(nn.Sequential(Conv(c, 8), nn.Conv2d(8, 4 * reg_max, 1)) for c in ch)
        self.cv3 = nn.ModuleList(nn.Sequential(Conv(c, 8), nn.Conv2d(8, nc, 1)) for c in ch)
        self.dfl = DFL(reg_max)
        anchors, stride_t = make_anchors([(side // s, side // s) for s in strides], strides)
        self.register_buffer('anchors', anchors)
        self.register_buffer('strides', stride_t)

    def forward(self, x):
        x = [torch.cat((self.cv2[i](xi), self.cv3[i](xi)), 1) for i, xi in enumerate(x)]
        x_cat = torch.cat([xi.view(xi.shape[0], self.no, -1) for xi in x], 2)
        box, cls = x_cat.split((self.reg_max * 4, self.nc), 1)
        lt, rb = self.dfl(box).chunk(2, 1)
        anchor = self.anchors.unsqueeze(0)
        x1y1, x2y2 = anchor - lt, anchor + rb
        dbox = torch.cat(((x1y1 + x2y2) / 2, x2y2 - x1y1), 1) * self.strides
        return torch.cat((dbox, cls.sigmoid()), 1)


class DetectV5(nn.Module):
    """YOLOv5's Detect in export mode: [1, A, 5 + nc], xy = (2 sig - 0.5 + grid) stride, wh = (2 sig)^2 anchor."""

    def __init__(self, nc, ch, strides, anchors, side):
        super().__init__()
        self.nc, self.no, self.na = nc, nc + 5, len(anchors[0]) // 2
        self.m = nn.ModuleList(nn.Conv2d(c, self.no * self.na, 1) for c in ch)
        self.strides = strides
        self.grids, self.anchor_grids = [], []
        for s, a in zip(strides, anchors):
            ny = nx = side // s
            yv, xv = torch.meshgrid(torch.arange(ny, dtype=torch.float), torch.arange(nx, dtype=torch.float), indexing='ij')
            self.grids.append(torch.stack((xv, yv), 2).expand(1, self.na, ny, nx, 2) - 0.5)
            ag = torch.tensor(a, dtype=torch.float).view(1, self.na, 1, 1, 2)
            self.anchor_grids.append(ag.expand(1, self.na, ny, nx, 2))

    def forward(self, x):
        z = []
        for i in range(len(self.m)):
            xi = self.m[i](x[i])
            bs, _, ny, nx = xi.shape
            xi = xi.view(bs, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2).contiguous()
            xy, wh, conf = xi.sigmoid().split((2, 2, self.nc + 1), 4)
            xy = (xy * 2 + self.grids[i]) * self.strides[i]
            wh = (wh * 2) ** 2 * self.anchor_grids[i]
            z.append(torch.cat((xy, wh, conf), 4).view(bs, self.na * nx * ny, self.no))
        return torch.cat(z, 1)


class Bottleneck(nn.Module):
    """Ultralytics' Bottleneck: two 3x3 Convs and the shortcut."""

    def __init__(self, c):
        super().__init__()
        self.cv1, self.cv2 = Conv(c, c, 3), Conv(c, c, 3)

    def forward(self, x):
        return x + self.cv2(self.cv1(x))


class C2f(nn.Module):
    """Ultralytics' C2f: a 1x1 Conv split in two halves, a Bottleneck on the last, all concatenated, a 1x1 Conv."""

    def __init__(self, c1, c2, n=1):
        super().__init__()
        self.c = c2 // 2
        self.cv1 = Conv(c1, 2 * self.c, 1)
        self.cv2 = Conv((2 + n) * self.c, c2, 1)
        self.m = nn.ModuleList(Bottleneck(self.c) for _ in range(n))

    def forward(self, x):
        y = list(self.cv1(x).chunk(2, 1))
        y.extend(m(y[-1]) for m in self.m)
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    """Ultralytics' SPPF: a 1x1 Conv, three 5x5 max pools in a row, all concatenated, a 1x1 Conv."""

    def __init__(self, c1, c2):
        super().__init__()
        c_ = c1 // 2
        self.cv1, self.cv2, self.m = Conv(c1, c_, 1), Conv(c_ * 4, c2, 1), nn.MaxPool2d(5, 1, 2)

    def forward(self, x):
        y = [self.cv1(x)]
        y.extend(self.m(y[-1]) for _ in range(3))
        return self.cv2(torch.cat(y, 1))


class Concat(nn.Module):
    def forward(self, xs):
        return torch.cat(xs, 1)


class Yolo(nn.Module):
    """A DetectionModel: `model` a ModuleList run layer by layer, each from the layers its `f` names (Ultralytics'
    forward), so the export's node names are /model.N/... YOLOv8: yolov8.yaml's backbone and FPN/PAN neck at width 8,
    one C2f bottleneck, Detect on model.14 / 17 / 20 (strides 8 / 16 / 32). YOLOv5: plain Convs, Detect on strides 8
    and 16."""

    def __init__(self, v5):
        super().__init__()
        if v5:
            anchors = [[24, 24, 32, 20, 20, 32], [40, 40, 56, 32, 32, 56]]
            spec = [(-1, Conv(3, 8, 3, 2)), (-1, Conv(8, 8, 3, 2)), (-1, Conv(8, 8, 3, 2)), (-1, Conv(8, 8, 3, 2)),
                    ([2, 3], DetectV5(NC, [8, 8], [8, 16], anchors, SIDE))]
        else:
            up = lambda: nn.Upsample(scale_factor=2, mode='nearest')
            spec = [(-1, Conv(3, 8, 3, 2)), (-1, Conv(8, 8, 3, 2)), (-1, C2f(8, 8)), (-1, Conv(8, 8, 3, 2)),
                    (-1, C2f(8, 8)), (-1, Conv(8, 8, 3, 2)), (-1, C2f(8, 8)), (-1, Conv(8, 8, 3, 2)), (-1, SPPF(8, 8)),
                    (-1, up()), ([-1, 6], Concat()), (-1, C2f(16, 8)), (-1, up()), ([-1, 4], Concat()),
                    (-1, C2f(16, 8)), (-1, Conv(8, 8, 3, 2)), ([-1, 11], Concat()), (-1, C2f(16, 8)),
                    (-1, Conv(8, 8, 3, 2)), ([-1, 8], Concat()), (-1, C2f(16, 8)),
                    ([14, 17, 20], DetectV8(NC, [8, 8, 8], [8, 16, 32], SIDE))]
        self.froms = [f for f, _ in spec]
        self.model = nn.ModuleList(m for _, m in spec)

    def forward(self, x):
        y = []
        for f, m in zip(self.froms, self.model):
            if f != -1:
                x = y[f] if isinstance(f, int) else [x if j == -1 else y[j] for j in f]
            x = m(x)
            y.append(x)
        return x


def spread(model, cls_convs, bias):
    """He-initialised convs (random default init leaves the scores flat), class biases at `bias`."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d) and m.weight.requires_grad:
                fan_in = m.weight[0].numel()
                m.weight.normal_(0, (2 / fan_in) ** 0.5)
                if m.bias is not None:
                    m.bias.uniform_(-0.1, 0.1)
        for c in cls_convs:
            c.weight.mul_(GAIN)
            c.bias[-NC:] = bias


def xywh2xyxy(b):
    return torch.cat((b[:, :2] - b[:, 2:4] / 2, b[:, :2] + b[:, 2:4] / 2), 1)


def postprocess(pred, v5, conf=0.25, iou=None):
    """Ultralytics' non_max_suppression for one picture (multi_label False, agnostic False, max_det 300)."""
    if v5:
        x = pred[0]
        x = x[x[:, 4] > conf]
        anchors = torch.nonzero(pred[0][:, 4] > conf)[:, 0]
        scores = x[:, 5:] * x[:, 4:5]
        iou = iou or 0.45
    else:
        p = pred[0].transpose(0, 1)
        anchors = torch.arange(p.shape[0])
        x, scores = p, p[:, 4:]
        iou = iou or 0.7
    box = xywh2xyxy(x[:, :4])
    best, j = scores.max(1)
    keep = best > conf
    box, best, j, anchors = box[keep], best[keep], j[keep], anchors[keep]
    order = best.argsort(descending=True)[:30000]
    box, best, j, anchors = box[order], best[order], j[order], anchors[order]
    i = torchvision.ops.nms(box + j[:, None].float() * MAX_WH, best, iou)[:300]
    print('  candidates', len(best), 'kept by NMS', len(i))
    return [dict(anchor=int(anchors[k]), cls=int(j[k]), score=float(best[k]), box=[float(v) for v in box[k]]) for k in i]


def letterbox(img):
    """Ultralytics' LetterBox(new_shape=(SIDE, SIDE), auto=False) with PIL's bilinear in place of cv2's INTER_LINEAR."""
    w, h = img.size
    r = min(SIDE / h, SIDE / w)
    nw, nh = int(round(w * r)), int(round(h * r))
    dw, dh = (SIDE - nw) / 2, (SIDE - nh) / 2
    if (nw, nh) != (w, h):
        img = img.resize((nw, nh), Image.BILINEAR)
    top, left = int(round(dh - 0.1)), int(round(dw - 0.1))
    canvas = np.full((SIDE, SIDE, 3), 114, np.uint8)
    canvas[top:top + nh, left:left + nw] = np.asarray(img)
    return canvas, dict(gain=r, left=left, top=top, width=w, height=h)


def scale_box(b, g):
    """Ultralytics' scale_boxes: the letterbox undone, then clipped to the picture."""
    gain = min(SIDE / g['height'], SIDE / g['width'])
    padx = round((SIDE - g['width'] * gain) / 2 - 0.1)
    pady = round((SIDE - g['height'] * gain) / 2 - 0.1)
    x1, y1, x2, y2 = (b[0] - padx) / gain, (b[1] - pady) / gain, (b[2] - padx) / gain, (b[3] - pady) / gain
    cx = lambda v: min(max(v, 0), g['width'])
    cy = lambda v: min(max(v, 0), g['height'])
    return [cx(x1), cy(y1), cx(x2), cy(y2)]


def picture():
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:48, 0:80]
    base = np.stack([xx * 3, yy * 5, (xx + yy) * 2], -1).astype(np.float64)
    img = np.clip(base + rng.integers(0, 60, (48, 80, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(img).save(os.path.join(OUT, 'picture.png'))
    return Image.fromarray(img)


def export(name, model, meta):
    path = os.path.join(OUT, name + '.onnx')
    x = torch.zeros(1, 3, SIDE, SIDE)
    torch.onnx.export(model, x, path, opset_version=12, do_constant_folding=True, input_names=['images'],
                      output_names=['output0'])
    m = onnx.load(path)
    for k, v in meta.items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    onnx.save(m, path)


def goldens(name, model, v5, x, geom):
    xg = x.clone().requires_grad_(True)
    out = model(xg)
    dets = postprocess(out.detach(), v5)
    for d in dets:
        d['original'] = scale_box(d['box'], geom)
    grad = None
    if dets:
        d = dets[0]
        score = out[0, d['anchor'], 4] * out[0, d['anchor'], 5 + d['cls']] if v5 else out[0, 4 + d['cls'], d['anchor']]
        score.backward()
        grad = xg.grad[0]
        np.save(os.path.join(OUT, name + '.gradient.npy'), grad.numpy().astype(np.float32))
    with open(os.path.join(OUT, name + '.json'), 'w') as f:
        json.dump(dict(output_shape=list(out.shape), output=[round(float(v), 7) for v in out.detach().flatten()],
                       detections=dets, detections_iou_0_3=postprocess(out.detach(), v5, iou=0.3), letterbox=geom), f)
    print(name, list(out.shape), len(dets), 'detections', dets[:2])


def main():
    canvas, geom = letterbox(picture())
    x = torch.from_numpy(canvas.astype(np.float32) / 255).permute(2, 0, 1).unsqueeze(0).contiguous()
    Image.fromarray(canvas).save(os.path.join(OUT, 'letterbox.png'))
    names = str(NAMES)
    torch.manual_seed(0)
    v8 = Yolo(False).eval()
    spread(v8, [c[-1] for c in v8.model[-1].cv3], BIAS8)
    export('yolov8', v8, dict(task='detect', names=names, imgsz=f'[{SIDE}, {SIDE}]', stride='32', batch='1',
                              author='gradlens fixture (Ultralytics layout)'))
    goldens('yolov8', v8, False, x, geom)
    torch.manual_seed(1)
    v5 = Yolo(True).eval()
    spread(v5, [], 0)
    with torch.no_grad():
        for m in v5.model[-1].m:
            m.bias[4::v5.model[-1].no] = OBJ5
    export('yolov5', v5, dict(stride='16', names=names))
    goldens('yolov5', v5, True, x, geom)
    with torch.no_grad():
        for m in v5.model[-1].m:
            m.bias[4::v5.model[-1].no] = -20.0
    export('yolov5_none', v5, dict(stride='16', names=names))


if __name__ == '__main__':
    main()
