"""Exports full-size torchvision models for benchmarks/onnx-bench.js: resnet50 and vit_b_16 with random
weights (seed 0) as <name>.onnx (torch.onnx, opset 17, input [1, 3, 224, 224]) and the same weights as a
state dict <name>.pth, which gradlens nn loads into its own resnet50 / vit_b_16.

    /usr/bin/python3 benchmarks/onnx-export.py [OUT_DIR]     # default: $TMPDIR/gradlens-onnx-bench

Note: torch.onnx folds each eval-mode BatchNorm into the convolution before it, so the exported resnet50
has no BatchNormalization nodes (gradlens nn's resnet50 runs them). resnet50_bn.onnx is the same model
exported with training=PRESERVE, which skips that folding: the same ops as gradlens nn's resnet50, for the
run-time comparison of the import itself.
"""
import os
import sys
import tempfile

import torch
import torchvision


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(tempfile.gettempdir(), 'gradlens-onnx-bench')
    os.makedirs(out, exist_ok=True)
    for name in ['resnet50', 'vit_b_16']:
        torch.manual_seed(0)
        model = getattr(torchvision.models, name)(weights=None).eval()
        if name == 'vit_b_16':  # torchvision zero-initialises the head, which makes every logit 0
            with torch.no_grad():
                model.heads.head.weight.normal_(0, 0.02)
        x = torch.randn(1, 3, 224, 224)
        torch.onnx.export(model, x, os.path.join(out, f'{name}.onnx'), opset_version=17, input_names=['input'], output_names=['logits'])
        torch.save(model.state_dict(), os.path.join(out, f'{name}.pth'))
        print(name, os.path.getsize(os.path.join(out, f'{name}.onnx')) >> 20, 'MiB')
        if name == 'resnet50':
            torch.onnx.export(model, x, os.path.join(out, 'resnet50_bn.onnx'), opset_version=17, input_names=['input'],
                              output_names=['logits'], training=torch.onnx.TrainingMode.PRESERVE)


if __name__ == '__main__':
    main()
