#!/usr/bin/python3
"""Writes torchvision VGG16 with seeded random weights as a .pth state dict (what the perturbation and
end-to-end benchmarks load on both sides). usage: make_vgg16_weights.py out.pth"""
import sys

import torch
import torchvision

torch.manual_seed(0)
torch.save(torchvision.models.vgg16(weights=None).state_dict(), sys.argv[1])
