#!/usr/bin/python3
"""PyTorch peer of `gradlens explain --method gradcam --arch vgg16 --weights W --image I`: build VGG16,
load the weights, read and normalise the image, forward, backward to the last feature map, Grad-CAM,
upsample, write a heat-map PNG. usage: e2e_gradcam_torch.py weights.pth image.png out.png"""
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image

weights, image, out = sys.argv[1:4]
model = torchvision.models.vgg16(weights=None)
model.load_state_dict(torch.load(weights))
model.eval()
img = Image.open(image).convert('RGB').resize((224, 224), Image.BILINEAR)
x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255).permute(2, 0, 1)
x = ((x - torch.tensor([0.485, 0.456, 0.406])[:, None, None]) / torch.tensor([0.229, 0.224, 0.225])[:, None, None])[None]
acts = model.features(x)
acts.retain_grad()
logits = model.classifier(torch.flatten(model.avgpool(acts), 1))
target = int(logits.argmax())
logits[0, target].backward()
cam = F.relu((acts.grad.mean((2, 3), keepdim=True) * acts).sum(1, keepdim=True))
cam = F.interpolate(cam, size=(224, 224), mode='bilinear', align_corners=False)[0, 0].detach()
cam = (cam - cam.min()) / (cam.max() - cam.min() + 1e-12)
Image.fromarray((cam.numpy() * 255).astype(np.uint8)).save(out)
