"""Writes packages/nn/test/fixtures/wrapped-*.pth: one small model's weights saved the ways training scripts
save them, so loadWeights is checked on each: a checkpoint dict {'epoch', 'state_dict', 'optimizer'} of a
DataParallel model (keys prefixed 'module.'), the same in the legacy format (_use_new_zipfile_serialization=False),
{'model': state_dict} whose conv weight is transposed-then-transposed back (a non-contiguous view), and the
model as TorchScript (torch.jit.save).
The expected values are the model's state dict, in wrapped-expected.json.
Run with Debian's PyTorch: /usr/bin/python3 scripts/make-wrapped-checkpoint-fixtures.py"""
import json
import os

import torch

OUT = os.path.join(os.path.dirname(__file__), '..', 'packages', 'nn', 'test', 'fixtures')
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 1, bias=False), torch.nn.BatchNorm2d(3))
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
net.train()
net(torch.randn(2, 2, 2, 2)).sum().backward()  # running stats and num_batches_tracked move
opt.step()
dp = torch.nn.DataParallel(net)
ckpt = {'epoch': 3, 'state_dict': dp.state_dict(), 'optimizer': opt.state_dict()}
torch.save(ckpt, os.path.join(OUT, 'wrapped-dp.pth'))
torch.save(ckpt, os.path.join(OUT, 'wrapped-dp-legacy.pth'), _use_new_zipfile_serialization=False)
sd = net.state_dict()
sd['0.weight'] = sd['0.weight'].permute(1, 0, 2, 3).contiguous().permute(1, 0, 2, 3)  # same values, strides (1, 3, 1, 1)
assert not sd['0.weight'].is_contiguous()
torch.save({'model': sd, 'note': 'ema'}, os.path.join(OUT, 'wrapped-model.pth'))
torch.jit.save(torch.jit.script(net), os.path.join(OUT, 'wrapped-torchscript.pt'))  # a tree of scripted modules
with open(os.path.join(OUT, 'wrapped-expected.json'), 'w') as f:
    json.dump({k: v.flatten().tolist() for k, v in net.state_dict().items()}, f)
print('wrote', OUT)
