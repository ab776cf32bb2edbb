import * as fs from 'fs';
import * as path from 'path';
import * as protobuf from 'protobufjs';
import { tensor } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import { Const, loadOnnx } from '@gradlens/onnx';
import type { AttrValue } from './op-harness';
import { relError, runOp } from './op-harness';

// signal.json (scripts/make-onnx-signal-fixtures.py): NumPy's FFT for DFT and STFT cases beyond ONNX's node tests.
interface SignalCase {
  label: string;
  op: 'DFT' | 'STFT';
  input: number[];
  shape: number[];
  attrs: Record<string, number>;
  dftLength?: number;
  frameStep?: number;
  window?: number[];
  output: number[];
  outputShape: number[];
}
const cases = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'signal.json'), 'utf8')) as SignalCase[];
const scalar = (v: number) => new Const([v], [], 'int');

describe("DFT and STFT give NumPy's FFT", () => {
  for (const c of cases) {
    it(`${c.op}: ${c.label}`, () => {
      const x = tensor(c.input, c.shape, 'float64');
      const attrs: Record<string, AttrValue> = Object.fromEntries(Object.entries(c.attrs).map(([k, v]) => [k, { i: v }]));
      const values =
        c.op === 'DFT'
          ? [x, c.dftLength ? scalar(c.dftLength) : null]
          : [x, scalar(c.frameStep!), tensor(c.window!, [c.window!.length], 'float64')];
      const [y] = runOp(c.op, values, attrs, 17) as Tensor[];
      expect(y!.shape).toEqual(c.outputShape);
      expect(relError(y!.values(), c.output)).toBeLessThan(1e-12);
    });
  }
});

const root = protobuf.loadSync(path.join(__dirname, '..', 'onnx.proto'));
const ModelProto = root.lookupType('onnx.ModelProto');
/** x [1, 8, 1] → `node` (reading x and an int64 scalar n) → z. */
function model(node: object, n: number): Uint8Array {
  const msg = ModelProto.fromObject({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'g',
      node: [
        { opType: 'Constant', output: ['n'], attribute: [{ name: 'value', type: 4, t: { dims: [], dataType: 7, int64Data: [n] } }] },
        node,
      ],
      input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 8 }, { dimValue: 1 }] } } } }],
      output: [{ name: 'z', type: { tensorType: { elemType: 1 } } }],
    },
  });
  return ModelProto.encode(msg).finish();
}

describe('bad signal inputs are one line naming the node', () => {
  it('a DFT past the length bound', () => {
    expect(() => loadOnnx(model({ name: 'fft', opType: 'DFT', input: ['x', 'n'], output: ['z'] }, 100000))).toThrow(
      /^loadOnnx ONNX bytes: ONNX node 'fft' \(DFT\) at input \[1, 8, 1\]: DFT length 100000 is outside 1…4096, the lengths the importer builds cos\/sin matrices for$/,
    );
  });
  it('a DFT axis on the real/imaginary axis, onesided of a complex input', () => {
    expect(() => runOp('DFT', [tensor([1, 2, 3, 4], [1, 4, 1])], { axis: { i: 2 } })).toThrow(
      /^DFT axis 2 is out of range for input \[1, 4, 1\]$/,
    );
    expect(() => runOp('DFT', [tensor([1, 2, 3, 4], [1, 2, 2])], { onesided: { i: 1 } })).toThrow(
      /^DFT onesided needs a real input \(the last axis 1\), got a complex one$/,
    );
    expect(() => runOp('DFT', [tensor([1, 2, 3], [1, 1, 3])])).toThrow(
      /^DFT input \[1, 1, 3\] must end in 1 \(real\) or 2 \(complex\) values, got 3$/,
    );
  });
  it('an STFT frame longer than the signal, a window of another length', () => {
    expect(() => loadOnnx(model({ name: 'spec', opType: 'STFT', input: ['x', 'n', '', 'n'], output: ['z'] }, 9))).toThrow(
      /^loadOnnx ONNX bytes: ONNX node 'spec' \(STFT\) at input \[1, 8, 1\]: STFT frame_length 9 does not fit the signal's 8 samples$/,
    );
    expect(() => runOp('STFT', [tensor(new Float32Array(8), [1, 8, 1]), scalar(2), tensor([1, 1, 1], [3]), scalar(4)])).toThrow(
      /^STFT window of 3 samples differs from frame_length 4$/,
    );
  });
});
