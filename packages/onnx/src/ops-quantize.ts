import * as t from '@gradlens/tensor';
import { noGrad, Tensor } from '@gradlens/tensor';
import type { OpContext, OpTable } from './op-context';
import { axis, float, input, roundHalfEven } from './op-context';
import type { Value } from './values';
import { nnOps } from './ops-nn';
import { Const } from './values';

// Quantised models (QDQ and QLinear* operators) run in float: DequantizeLinear is exact; QuantizeLinear rounds
// and saturates exactly in the forward pass, and passes the gradient straight through inside the representable
// range (zero outside), as PyTorch's fake-quantize ops do: rounding's own derivative is zero wherever it exists,
// which would leave nothing to explain.

/** The integer range of a quantised type, from its zero point's stored ONNX type (uint8 when there is none). */
function rangeOf(zeroPoint: Value | null): [number, number] {
  const type = zeroPoint instanceof Const ? zeroPoint.onnxType : undefined;
  switch (type) {
    case 3:
      return [-128, 127];
    case 4:
      return [0, 65535];
    case 5:
      return [-32768, 32767];
    case 6:
      return [-(2 ** 31), 2 ** 31 - 1];
    default:
      return [0, 255];
  }
}

/** A scale or zero point shaped to broadcast over x: a scalar as it is, a 1-D one along `ax` (per-axis quantisation). */
function alongAxis(v: Value, x: Tensor, axisAttr: number): Tensor {
  const tv = float(v);
  const asX = tv.dtype === x.dtype ? tv : t.cast(tv, x.dtype);
  if (asX.size === 1) return t.reshape(asX, []);
  const ax = axis(axisAttr, x.rank, 'quantisation axis');
  if (asX.size !== x.shape[ax])
    throw new Error(`a per-axis scale or zero point of ${asX.size} values does not match axis ${ax} of [${x.shape.join(', ')}]`);
  return t.reshape(
    asX,
    x.shape.map((d, i) => (i === ax ? d : 1)),
  );
}

/** Runs `fn` on tensors; when every input is a load-time constant, under noGrad, giving a float32 constant. */
function foldable(inputs: (Value | null)[], fn: () => Tensor): Value {
  if (!inputs.every((v) => v === null || v instanceof Const)) return fn();
  const y = noGrad(fn);
  return new Const(Float32Array.from(y.values()), y.shape, 'float32');
}

/** (x − zero point) · scale. */
function dequantize(x: Value, scale: Value, zeroPoint: Value | null, axisAttr: number): Value {
  return foldable([x, scale, zeroPoint], () => {
    const xt = float(x);
    const shifted = zeroPoint ? t.sub(xt, alongAxis(zeroPoint, xt, axisAttr)) : xt;
    return t.mul(shifted, alongAxis(scale, xt, axisAttr));
  });
}

/**
 * saturate(round(x / scale) + zero point): the clamped linear part on the tape, the rounding added as a constant
 * (a straight-through gradient inside the range, zero outside it). The result holds integers as floats.
 */
function quantize(x: Value, scale: Value, zeroPoint: Value | null, axisAttr: number): Value {
  const [lo, hi] = rangeOf(zeroPoint);
  return foldable([x, scale, zeroPoint], () => {
    const xt = float(x);
    const scaled = t.div(xt, alongAxis(scale, xt, axisAttr));
    const shift = zeroPoint ? t.add(t.zerosLike(scaled), alongAxis(zeroPoint, xt, axisAttr)) : null;
    const clamped = t.clamp(shift ? t.add(scaled, shift) : scaled, { min: lo, max: hi });
    // The spec rounds x / scale first, then adds the zero point (adding first can move a float past a half).
    const [sv, zv, cv] = [scaled.values(), shift?.values(), clamped.values()];
    const delta = Array.from(cv, (c, i) => Math.min(hi, Math.max(lo, roundHalfEven(sv[i]!) + (zv?.[i] ?? 0))) - c);
    return t.add(
      clamped,
      new Tensor(xt.dtype === 'float64' ? Float64Array.from(delta) : Float32Array.from(delta), clamped.shape, xt.dtype),
    );
  });
}

const ONE = new Const([1], [], 'float32');

/**
 * DynamicQuantizeLinear: uint8 with the scale and zero point of the data's range (widened to hold 0), per the
 * spec's formula; the scale and zero point are values read from the data, off the tape.
 */
function dynamicQuantize(x: Value): Value[] {
  let [lo, hi] = [0, 0];
  for (const v of float(x).values()) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  const scale = Math.fround((hi - lo) / 255);
  const zeroPoint = Math.min(255, Math.max(0, roundHalfEven(Math.fround(0 - lo / scale))));
  const zp = new Const([zeroPoint], [], 'int', 2);
  return [quantize(x, new Const([scale], [], 'float32'), zp, 1), new Const([scale], [], 'float32'), zp];
}

/** QLinearConv / QLinearMatMul: dequantise the operands, the float op, quantise the result. */
function qlinear(ctx: OpContext, op: 'Conv' | 'MatMul', run: (a: Value, b: Value, bias: Value | null) => Value[]): Value[] {
  const v = ctx.values;
  const a = dequantize(input(v, 0), input(v, 1), v[2] ?? null, 1);
  // A per-output-channel weight scale runs along the weight's first axis (Conv) or its last (MatMul).
  const b = dequantize(input(v, 3), input(v, 4), v[5] ?? null, op === 'Conv' ? 0 : -1);
  // QLinearConv's int32 bias is quantised with scale x_scale · w_scale and zero point 0.
  const bias = op === 'Conv' && v[8] ? dequantize(input(v, 8), t.mul(float(input(v, 1)), float(input(v, 4))), null, 0) : null;
  const [y] = run(a, b, bias);
  return [quantize(y!, input(v, 6), v[7] ?? null, 1)];
}

/** The quantisation operators (QLinearConv and QLinearMatMul run the importer's own Conv and MatMul in float). */
export const quantizeOps: OpTable = {
  DequantizeLinear: {
    since: 10,
    run: ({ values, attrs }) => [dequantize(input(values, 0), input(values, 1), values[2] ?? null, attrs.int('axis', 1))],
  },
  QuantizeLinear: {
    since: 10,
    run: ({ values, attrs }) => [quantize(input(values, 0), input(values, 1), values[2] ?? null, attrs.int('axis', 1))],
  },
  QLinearConv: {
    since: 10,
    run: (ctx) => qlinear(ctx, 'Conv', (a, b, bias) => nnOps.Conv!.run({ ...ctx, values: [a, b, bias], outputs: 1 })),
  },
  // The integer products in float (exact while the sums stay under 2²⁴), their zero points subtracted first.
  ConvInteger: {
    since: 10,
    run: (ctx) => {
      const v = ctx.values;
      const a = dequantize(input(v, 0), ONE, v[2] ?? null, 1);
      const b = dequantize(input(v, 1), ONE, v[3] ?? null, 0);
      return nnOps.Conv!.run({ ...ctx, values: [a, b], outputs: 1 });
    },
  },
  MatMulInteger: {
    since: 10,
    run: (ctx) => {
      const v = ctx.values;
      const a = dequantize(input(v, 0), ONE, v[2] ?? null, -1);
      const b = dequantize(input(v, 1), ONE, v[3] ?? null, -1);
      return nnOps.MatMul!.run({ ...ctx, values: [a, b], outputs: 1 });
    },
  },
  DynamicQuantizeLinear: { since: 11, run: ({ values }) => dynamicQuantize(input(values, 0)) },
  QLinearMatMul: {
    since: 10,
    run: (ctx) => qlinear(ctx, 'MatMul', (a, b) => nnOps.MatMul!.run({ ...ctx, values: [a, b], outputs: 1 })),
  },
};
