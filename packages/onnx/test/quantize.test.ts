/**
 * QuantizeLinear rounds half to even and saturates to its zero point's stored type (int8 from an INT8 zero
 * point, uint8 without one), and passes the gradient straight through inside that range (zero outside), as
 * PyTorch's fake-quantize ops do; a QuantizeLinear → DequantizeLinear pair is then the identity's gradient
 * where nothing saturates.
 */
import { grad, sum, tensor } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import { Const } from '@gradlens/onnx';
import type { Value } from '@gradlens/onnx';
import { runOp } from './op-harness';

const INT8 = 3;
const quantize = (x: Value, scale: number, zeroPoint?: Const) =>
  runOp('QuantizeLinear', [x, new Const([scale], [], 'float32'), zeroPoint ?? null], {}, 13)[0] as Tensor;

describe('QuantizeLinear', () => {
  const x = tensor([-300, -1.25, -0.75, 0.25, 0.75, 1.25, 2.5, 300], [8]);

  it('rounds half to even and saturates to int8 for an INT8 zero point', () => {
    expect(Array.from(quantize(x, 0.5, new Const([0], [], 'int', INT8)).values())).toEqual([-128, -2, -2, 0, 2, 2, 5, 127]);
    expect(Array.from(quantize(x, 0.5, new Const([-3], [], 'int', INT8)).values())).toEqual([-128, -5, -5, -3, -1, -1, 2, 127]);
  });

  it('saturates to uint8 without a zero point', () => {
    expect(Array.from(quantize(x, 0.5).values())).toEqual([0, 0, 0, 0, 2, 2, 5, 255]);
  });

  it('passes 1 / scale straight through inside the range, 0 where it saturates', () => {
    const [g] = grad((v) => sum(quantize(v, 0.5, new Const([0], [], 'int', INT8))), [x]);
    expect(Array.from(g!.values())).toEqual([0, 2, 2, 2, 2, 2, 2, 0]);
  });

  it('makes a quantise–dequantise pair the identity for the gradient where nothing saturates', () => {
    const zp = new Const([0], [], 'int', INT8);
    const scale = new Const([0.5], [], 'float32');
    const pair = (v: Tensor) => runOp('DequantizeLinear', [quantize(v, 0.5, zp), scale, zp], {}, 13)[0] as Tensor;
    expect(Array.from(pair(x).values())).toEqual([-64, -1, -1, 0, 1, 1, 2.5, 63.5]);
    const [g] = grad((v) => sum(pair(v)), [x]);
    expect(Array.from(g!.values())).toEqual([0, 1, 1, 1, 1, 1, 1, 0]);
  });

  it('quantises per axis with a scale and zero point per channel', () => {
    const y = runOp(
      'QuantizeLinear',
      [tensor([1, 2, 3, 4, 5, 6], [1, 3, 2]), new Const([1, 0.5, 2], [3], 'float32'), new Const([0, 10, -1], [3], 'int', INT8)],
      { axis: { i: 1 } },
      13,
    )[0] as Tensor;
    expect(Array.from(y.values())).toEqual([1, 2, 16, 18, 1, 2]);
  });
});
