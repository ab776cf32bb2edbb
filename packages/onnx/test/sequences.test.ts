import * as fs from 'fs';
import * as path from 'path';
import * as protobuf from 'protobufjs';
import type { Tensor } from '@gradlens/tensor';
import { grad, mul, sum, tensor } from '@gradlens/tensor';
import { loadOnnx, OnnxOptional, OnnxSequence } from '@gradlens/onnx';
import { relError } from './op-harness';

// seq_*.onnx and sequences.json (scripts/make-onnx-sequence-fixtures.py): graphs on ONNX sequences and optionals,
// with PyTorch's output and gradient of (y · r).sum() for the same computation on Python lists.
interface Golden {
  input: number[];
  inputShape: number[];
  output: number[];
  outputShape: number[];
  r: number[];
  gradient: number[];
}
const fixtures = path.join(__dirname, 'fixtures');
const goldens = JSON.parse(fs.readFileSync(path.join(fixtures, 'sequences.json'), 'utf8')) as Record<string, Golden[]>;

describe('sequences and optionals in a graph, with gradients through their elements', () => {
  for (const [name, cases] of Object.entries(goldens)) {
    cases.forEach((c, k) => {
      it(`${name} #${k} gives PyTorch's output and input gradient`, () => {
        const model = loadOnnx(path.join(fixtures, `${name}.onnx`));
        const x = tensor(c.input, c.inputShape);
        const y = model.call(x);
        expect(y.shape).toEqual(c.outputShape);
        expect(relError(y.values(), c.output)).toBeLessThan(1e-6);
        const r = tensor(c.r, c.outputShape);
        const [g] = grad((v) => sum(mul(model.call(v), r)), [x]);
        expect(relError(g!.values(), c.gradient)).toBeLessThan(1e-6);
      });
    });
  }
});

const root = protobuf.loadSync(path.join(__dirname, '..', 'onnx.proto'));
const ModelProto = root.lookupType('onnx.ModelProto');
const seqType = { sequenceType: { elemType: { tensorType: { elemType: 1 } } } };

/** A model of `nodes` on the float input x [2, 6], its output z of `outType` (a tensor by default). */
function model(nodes: object[], outType: object = { tensorType: { elemType: 1 } }): Uint8Array {
  const msg = ModelProto.fromObject({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'g',
      node: nodes,
      input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 2 }, { dimValue: 6 }] } } } }],
      output: [{ name: 'z', type: outType }],
    },
  });
  return ModelProto.encode(msg).finish();
}
const int64 = (name: string, v: number) => ({
  name: `/${name}`,
  opType: 'Constant',
  output: [name],
  attribute: [{ name: 'value', type: 4, t: { dims: [], dataType: 7, int64Data: [v] } }],
});
const split = { name: '/split', opType: 'SplitToSequence', input: ['x'], output: ['s'], attribute: [{ name: 'axis', type: 2, i: 1 }] };

describe('sequence values through runGraphValues', () => {
  it('gives a sequence output as an OnnxSequence of its elements, which runGraph refuses in one line', () => {
    const m = loadOnnx(model([split, { name: '/id', opType: 'Identity', input: ['s'], output: ['z'] }], seqType), { graphOnly: true });
    const x = tensor([...Array(12).keys()], [2, 6]);
    const [s] = m.runGraphValues(new Map([['x', x]]));
    expect(s).toBeInstanceOf(OnnxSequence);
    const items = (s as OnnxSequence).items as Tensor[];
    expect(items.map((v) => v.shape)).toEqual(Array(6).fill([2, 1]));
    expect(Array.from(items[4]!.values())).toEqual([4, 10]);
    expect(() => m.runGraph(new Map([['x', x]]))).toThrow(/^the graph output 'z' is a sequence of 6, not a tensor: use runGraphValues$/);
  });

  it('refuses a sequence graph input without graphOnly, in one line', () => {
    const msg = ModelProto.fromObject({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'g',
        node: [{ opType: 'SequenceLength', input: ['s'], output: ['z'] }],
        input: [{ name: 's', type: seqType }],
        output: [{ name: 'z', type: { tensorType: { elemType: 7 } } }],
      },
    });
    expect(() => loadOnnx(ModelProto.encode(msg).finish())).toThrow(
      /^loadOnnx ONNX bytes: the graph input 's' is a sequence, not a tensor: load with graphOnly and run it with runGraphValues$/,
    );
  });

  it('takes a sequence and an optional as graph inputs', () => {
    const msg = ModelProto.fromObject({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'g',
        node: [
          { opType: 'OptionalGetElement', input: ['o'], output: ['t'] },
          { opType: 'SequenceInsert', input: ['s', 't'], output: ['s2'] },
          { opType: 'ConcatFromSequence', input: ['s2'], output: ['z'], attribute: [{ name: 'axis', type: 2, i: 0 }] },
        ],
        input: [
          { name: 's', type: seqType },
          { name: 'o', type: { optionalType: { elemType: { tensorType: { elemType: 1 } } } } },
        ],
        output: [{ name: 'z', type: { tensorType: { elemType: 1 } } }],
      },
    });
    const m = loadOnnx(ModelProto.encode(msg).finish(), { graphOnly: true });
    const [z] = m.runGraph(
      new Map<string, OnnxSequence | OnnxOptional>([
        ['s', new OnnxSequence([tensor([1, 2], [2])])],
        ['o', new OnnxOptional(tensor([3], [1]))],
      ]),
    );
    expect(Array.from((z as Tensor).values())).toEqual([1, 2, 3]);
  });
});

describe('bad sequence inputs are one line naming the node', () => {
  const run = (nodes: object[]) => () => loadOnnx(model(nodes));
  it('SequenceAt out of range', () => {
    expect(run([split, int64('p', 6), { name: 'at', opType: 'SequenceAt', input: ['s', 'p'], output: ['z'] }])).toThrow(
      /^loadOnnx ONNX bytes: ONNX node 'at' \(SequenceAt\) at input \[2, 6\]: SequenceAt position 6 is out of range for a sequence of 6 \(allowed -6…5\)$/,
    );
  });
  it('ConcatFromSequence of an empty sequence', () => {
    expect(
      run([
        { name: 'empty', opType: 'SequenceEmpty', output: ['s'] },
        { name: 'cat', opType: 'ConcatFromSequence', input: ['s'], output: ['z'], attribute: [{ name: 'axis', type: 2, i: 0 }] },
      ]),
    ).toThrow(/^loadOnnx ONNX bytes: ONNX node 'cat' \(ConcatFromSequence\) at input \[2, 6\]: ConcatFromSequence of an empty sequence/);
  });
  it('ConcatFromSequence of mismatched shapes', () => {
    const sizes = {
      opType: 'Constant',
      output: ['sizes'],
      attribute: [{ name: 'value', type: 4, t: { dims: [2], dataType: 7, int64Data: [2, 4] } }],
    };
    expect(
      run([
        sizes,
        { name: 'seq', opType: 'SplitToSequence', input: ['x', 'sizes'], output: ['s'], attribute: [{ name: 'axis', type: 2, i: 1 }] },
        { name: 'cat', opType: 'ConcatFromSequence', input: ['s'], output: ['z'], attribute: [{ name: 'axis', type: 2, i: 0 }] },
      ]),
    ).toThrow(
      /^loadOnnx ONNX bytes: ONNX node 'cat' \(ConcatFromSequence\) at input \[2, 6\]: cat: tensor 1 has shape \[2, 4\], which does not match \[2, 2\] outside dim 0$/,
    );
  });
  it('a sequence given to a tensor op, and a tensor to a sequence op', () => {
    expect(run([split, { name: 'relu', opType: 'Relu', input: ['s'], output: ['z'] }])).toThrow(
      /^loadOnnx ONNX bytes: ONNX node 'relu' \(Relu\) at input \[2, 6\]: Relu takes tensors, but its input 's' is a sequence of 6$/,
    );
    expect(run([{ name: 'len', opType: 'SequenceLength', input: ['x'], output: ['z'] }])).toThrow(
      /^loadOnnx ONNX bytes: ONNX node 'len' \(SequenceLength\) at input \[2, 6\]: SequenceLength input 0 must be a sequence, got a tensor \[2, 6\]$/,
    );
  });
  it('OptionalGetElement of an empty optional', () => {
    const empty = {
      name: 'none',
      opType: 'Optional',
      output: ['o'],
      attribute: [{ name: 'type', type: 13, tp: { tensorType: { elemType: 1 } } }],
    };
    expect(run([empty, { name: 'get', opType: 'OptionalGetElement', input: ['o'], output: ['z'] }])).toThrow(
      /^loadOnnx ONNX bytes: ONNX node 'get' \(OptionalGetElement\) at input \[2, 6\]: OptionalGetElement of an empty optional$/,
    );
  });
});
