#!/usr/bin/python3
"""Loads a ViT trained by weights/train.js (--model vit) into torchvision 0.14's VisionTransformer with
load_state_dict(strict=True), and with --samples classifies weights/samples as gradlens does (issue 16).

  /usr/bin/python3 scripts/vit_load_check.py weights/vit.safetensors weights/vit.json [--samples weights/samples]
"""
import json, os, sys
import numpy as np
import torch
from torchvision.models.vision_transformer import VisionTransformer, ConvStemConfig
sys.path.insert(0, os.path.dirname(__file__))
from vit_probe import read_safetensors  # noqa: E402


def main():
    weights, card_file = sys.argv[1], sys.argv[2]
    card = json.load(open(card_file))
    arch = card['architecture']
    import re
    cfg = dict(re.findall(r'(num_layers|num_heads|hidden_dim|mlp_dim)=(\d+)', arch))
    stem = [(int(c), int(s)) for c, s in re.findall(r'ConvStemConfig\(out_channels=(\d+), kernel_size=3, stride=(\d+)', arch)]
    m = VisionTransformer(image_size=64, patch_size=8, num_layers=int(cfg['num_layers']), num_heads=int(cfg['num_heads']),
                          hidden_dim=int(cfg['hidden_dim']), mlp_dim=int(cfg['mlp_dim']), num_classes=10,
                          conv_stem_configs=[ConvStemConfig(out_channels=c, kernel_size=3, stride=s, norm_layer=None) for c, s in stem])
    print(m.load_state_dict(read_safetensors(weights), strict=True))
    if '--samples' in sys.argv:
        from PIL import Image
        d = sys.argv[sys.argv.index('--samples') + 1]
        meta = json.load(open(os.path.join(d, 'samples.json')))['samples']
        mean = np.array(card['normalization']['mean'], np.float32)
        std = np.array(card['normalization']['std'], np.float32)
        x = np.stack([(np.asarray(Image.open(os.path.join(d, s['file'])).convert('RGB'), np.float32) / 255 - mean) / std for s in meta])
        m.eval()
        with torch.no_grad():
            pred = m(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).argmax(1).tolist()
        right = sum(p == s['label'] for p, s in zip(pred, meta))
        print(f'torchvision classifies {right} of {len(meta)} samples right: {pred}')


if __name__ == '__main__':
    main()
