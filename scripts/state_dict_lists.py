"""The list packages/nn/test/models-names.test.ts checks every full-size model against:
packages/nn/test/fixtures/torchvision-state-dicts.json, one line per model name with torchvision's
state-dict names and shapes in order. The fixture scripts of each model family add their names here."""
import json
import os

import torch
import torchvision

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'packages', 'nn', 'test', 'fixtures',
                    'torchvision-state-dicts.json')


def names_and_shapes(name):
    with torch.no_grad():
        model = getattr(torchvision.models, name)(weights=None)
    return [[k, list(v.shape)] for k, v in model.state_dict().items()]


def write(lists, path=PATH):
    with open(path, 'w') as f:
        f.write('{\n' + ',\n'.join(f'{json.dumps(n)}: {json.dumps(v, separators=(",", ":"))}' for n, v in lists.items()) + '\n}\n')


def add_full_size(names, path=PATH):
    """Adds (or refreshes) the entries of `names`, keeping every other model's line as it is."""
    with open(path) as f:
        lists = json.load(f)
    for name in names:
        lists[name] = names_and_shapes(name)
    write(lists, path)
