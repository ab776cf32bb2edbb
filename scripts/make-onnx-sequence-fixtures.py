"""Writes packages/onnx/test/fixtures/seq_*.onnx and sequences.json: small graphs on ONNX sequences and optionals
built with onnx.helper (torch.onnx writes these ops for lists of tensors in scripted code), and PyTorch's goldens
of the same computation on Python lists: the output for one random input and the gradient of (output · r).sum().

- seq_list_ops.onnx: s = SplitToSequence(x [2, 6], split 2, axis 1); a = SequenceAt(s, −1); s = SequenceErase(s, 0);
  s = SequenceInsert(s, a · a, 0); y = ConcatFromSequence(s, axis −1, new_axis 1) — [2, 2, 3].
- seq_loop.onnx: a Loop (M = 3) carrying a sequence from SequenceEmpty, each iteration inserting x · (i + 1), then
  SequenceMap squaring each element and ConcatFromSequence along axis 0 — [6, 3] from x [2, 3].
- seq_optional.onnx: If(ReduceSum(x) > 0, then: Optional(x · 2), else: an empty Optional); y =
  If(OptionalHasElement, then: OptionalGetElement, else: −x).

Run with Debian's python3-torch / python3-onnx:
    /usr/bin/python3 scripts/make-onnx-sequence-fixtures.py
"""
import json
import os

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper

OUT = os.path.join(os.path.dirname(__file__), '..', 'packages', 'onnx', 'test', 'fixtures')
F = TensorProto.FLOAT
I64 = TensorProto.INT64


def const(name, value, dtype=np.int64):
    return helper.make_node('Constant', [], [name], value=helper.make_tensor(name + '_v', I64 if dtype == np.int64 else F, np.shape(value), np.ravel(value).tolist()))


def save(graph, name, opset=17):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, name + '.onnx'))


def list_ops():
    nodes = [
        const('two', 2),
        helper.make_node('SplitToSequence', ['x', 'two'], ['s'], axis=1),
        const('last', -1),
        helper.make_node('SequenceAt', ['s', 'last'], ['a']),
        const('zero', 0),
        helper.make_node('SequenceErase', ['s', 'zero'], ['s1']),
        helper.make_node('Mul', ['a', 'a'], ['aa']),
        helper.make_node('SequenceInsert', ['s1', 'aa', 'zero'], ['s2']),
        helper.make_node('ConcatFromSequence', ['s2'], ['y'], axis=-1, new_axis=1),
    ]
    g = helper.make_graph(nodes, 'seq_list_ops', [helper.make_tensor_value_info('x', F, [2, 6])], [helper.make_tensor_value_info('y', F, [2, 2, 3])])
    save(g, 'seq_list_ops')

    def torch_fn(x):
        s = list(torch.split(x, 2, dim=1))
        a = s[-1]
        s = s[1:]
        s.insert(0, a * a)
        return torch.stack(s, dim=-1)

    return torch_fn, [2, 6]


def loop():
    body = helper.make_graph(
        [
            helper.make_node('Identity', ['cond_in'], ['cond_out']),
            const('one', 1),
            helper.make_node('Add', ['i', 'one'], ['i1']),
            helper.make_node('Cast', ['i1'], ['f'], to=F),
            helper.make_node('Mul', ['x', 'f'], ['xi']),
            helper.make_node('SequenceInsert', ['seq_in', 'xi'], ['seq_out']),
        ],
        'body',
        [
            helper.make_tensor_value_info('i', I64, []),
            helper.make_tensor_value_info('cond_in', TensorProto.BOOL, []),
            helper.make_tensor_sequence_value_info('seq_in', F, [2, 3]),
        ],
        [helper.make_tensor_value_info('cond_out', TensorProto.BOOL, []), helper.make_tensor_sequence_value_info('seq_out', F, [2, 3])],
    )
    square = helper.make_graph(
        [helper.make_node('Mul', ['e', 'e'], ['e2'])],
        'square',
        [helper.make_tensor_value_info('e', F, [2, 3])],
        [helper.make_tensor_value_info('e2', F, [2, 3])],
    )
    nodes = [
        const('m', 3),
        helper.make_node('Constant', [], ['c'], value=helper.make_tensor('c_v', TensorProto.BOOL, [], [True])),
        helper.make_node('SequenceEmpty', [], ['empty'], dtype=F),
        helper.make_node('Loop', ['m', 'c', 'empty'], ['seq'], body=body),
        helper.make_node('SequenceMap', ['seq'], ['squares'], body=square),
        helper.make_node('ConcatFromSequence', ['squares'], ['y'], axis=0),
    ]
    g = helper.make_graph(nodes, 'seq_loop', [helper.make_tensor_value_info('x', F, [2, 3])], [helper.make_tensor_value_info('y', F, [6, 3])])
    save(g, 'seq_loop')

    def torch_fn(x):
        return torch.cat([(x * (i + 1)) ** 2 for i in range(3)], dim=0)

    return torch_fn, [2, 3]


def optional():
    opt_tensor = helper.make_optional_type_proto(helper.make_tensor_type_proto(F, [2, 3]))
    then_make = helper.make_graph(
        [const('two_f', 2.0, np.float32), helper.make_node('Mul', ['x', 'two_f'], ['x2']), helper.make_node('Optional', ['x2'], ['o1'])],
        'then_make',
        [],
        [helper.make_value_info('o1', opt_tensor)],
    )
    else_make = helper.make_graph([helper.make_node('Optional', [], ['o2'], type=helper.make_tensor_type_proto(F, [2, 3]))], 'else_make', [], [helper.make_value_info('o2', opt_tensor)])
    then_get = helper.make_graph([helper.make_node('OptionalGetElement', ['opt'], ['g'])], 'then_get', [], [helper.make_tensor_value_info('g', F, [2, 3])])
    else_neg = helper.make_graph([helper.make_node('Neg', ['x'], ['n'])], 'else_neg', [], [helper.make_tensor_value_info('n', F, [2, 3])])
    nodes = [
        helper.make_node('ReduceSum', ['x'], ['total'], keepdims=0),
        const('zero_f', 0.0, np.float32),
        helper.make_node('Greater', ['total', 'zero_f'], ['positive']),
        helper.make_node('If', ['positive'], ['opt'], then_branch=then_make, else_branch=else_make),
        helper.make_node('OptionalHasElement', ['opt'], ['has']),
        helper.make_node('If', ['has'], ['y'], then_branch=then_get, else_branch=else_neg),
    ]
    g = helper.make_graph(nodes, 'seq_optional', [helper.make_tensor_value_info('x', F, [2, 3])], [helper.make_tensor_value_info('y', F, [2, 3])])
    save(g, 'seq_optional', opset=16)

    def torch_fn(x):
        return x * 2 if x.sum() > 0 else -x

    return torch_fn, [2, 3]


def main():
    torch.manual_seed(0)
    goldens = {}
    for name, build in [('seq_list_ops', list_ops), ('seq_loop', loop), ('seq_optional', optional)]:
        fn, shape = build()
        cases = []
        for sign in ([1.0, -1.0] if name == 'seq_optional' else [1.0]):
            x = (torch.rand(shape, dtype=torch.float64) + 0.1) * sign
            x.requires_grad_(True)
            y = fn(x)
            r = torch.randn(y.shape, dtype=torch.float64)
            (g,) = torch.autograd.grad((y * r).sum(), [x])
            cases.append({
                'input': x.detach().flatten().tolist(), 'inputShape': shape,
                'output': y.detach().flatten().tolist(), 'outputShape': list(y.shape),
                'r': r.flatten().tolist(), 'gradient': g.flatten().tolist(),
            })
        goldens[name] = cases
    with open(os.path.join(OUT, 'sequences.json'), 'w') as f:
        json.dump(goldens, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
