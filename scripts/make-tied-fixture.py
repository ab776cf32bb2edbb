"""Writes packages/nn/test/fixtures/tied.pth: a state dict of two 1x1 convolutions (4 -> 4 channels) whose
weights are one storage, as tied weights are saved, so loadWeights must not hand both parameters one array.
Run with Debian's PyTorch: /usr/bin/python3 scripts/make-tied-fixture.py"""
import os

import torch

OUT = os.path.join(os.path.dirname(__file__), '..', 'packages', 'nn', 'test', 'fixtures', 'tied.pth')
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Conv2d(4, 4, 1), torch.nn.Conv2d(4, 4, 1))
sd = net.state_dict()
sd['1.weight'] = sd['0.weight']  # one storage under two keys
assert sd['1.weight'].data_ptr() == sd['0.weight'].data_ptr()
torch.save(sd, OUT)
print('wrote', OUT)
