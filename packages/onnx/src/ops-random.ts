import { defaultGenerator, Generator, Tensor } from '@gradlens/tensor';
import type { Attrs } from './attrs';
import type { OpContext, OpTable } from './op-context';
import { checkElements, input, numbers } from './op-context';
import { dataTypeName } from './initializers';
import type { Value } from './values';

/**
 * The random ops. ONNX fixes no generator, so values differ from onnxruntime's (and NumPy's): these draw from
 * gradlens's xoshiro128** Generator. With a `seed` attribute each run of the node starts a generator from that
 * seed, so the node gives the same values on every run; without one they come from the default generator
 * (`manualSeed` makes them reproducible). The values are new tensors off the tape: nothing differentiates through
 * a random draw, and Bernoulli's and Multinomial's outputs are not differentiable in their probabilities.
 */

/** The generator a node draws from: its own, from the seed attribute (a float in ONNX), or the default one. */
function generatorOf(attrs: Attrs): Generator {
  if (!attrs.has('seed')) return defaultGenerator;
  const seed = attrs.float('seed', 0);
  if (Number.isInteger(seed)) return new Generator(seed >>> 0);
  // A fractional seed: both words of its float64 bits folded into one.
  const words = new Uint32Array(new Float64Array([seed]).buffer);
  return new Generator((words[0]! ^ words[1]!) >>> 0);
}

/** The float dtype of an ONNX data type (FLOAT, FLOAT16 and BFLOAT16 computed in float32, DOUBLE in float64). */
function floatDtype(onnxType: number, op: string): 'float32' | 'float64' {
  if (onnxType === 11) return 'float64';
  if (onnxType === 1 || onnxType === 10 || onnxType === 16) return 'float32';
  throw new Error(`${op} dtype ${dataTypeName(onnxType)} is not a float type`);
}

/** The ONNX data type a *Like op or Bernoulli gives by default: its input's. */
function typeOf(v: Value): number {
  const d = v instanceof Tensor ? v.dtype : v.kind;
  return d === 'float64' ? 11 : d === 'float32' ? 1 : d === 'bool' ? 9 : 7;
}

/** A tensor of `onnxType` (a float, integer or bool type) holding `data`. */
function tensorOf(data: number[], shape: readonly number[], onnxType: number, op: string): Tensor {
  if (onnxType === 9) return new Tensor(Uint8Array.from(data), [...shape], 'bool');
  if ([2, 3, 4, 5, 6, 7, 12, 13].includes(onnxType)) return new Tensor(Int32Array.from(data), [...shape], 'int32');
  const dtype = floatDtype(onnxType, op);
  return new Tensor(dtype === 'float64' ? Float64Array.from(data) : Float32Array.from(data), [...shape], dtype);
}

/** `n` draws of `draw` as a tensor of the op's float dtype. */
function draws(shape: readonly number[], onnxType: number, op: string, draw: () => number): Tensor {
  checkElements(shape, `${op}'s output`);
  const dtype = floatDtype(onnxType, op);
  const n = shape.reduce((a, b) => a * b, 1);
  const v = dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = draw();
  return new Tensor(v, [...shape], dtype);
}

/** RandomNormal and RandomNormalLike: mean + scale · N(0, 1). */
function normal({ attrs }: OpContext, shape: readonly number[], onnxType: number, op: string): Tensor {
  const g = generatorOf(attrs);
  const mean = attrs.float('mean', 0);
  const scale = attrs.float('scale', 1);
  return draws(shape, onnxType, op, () => mean + scale * g.normal());
}

/** RandomUniform and RandomUniformLike: uniform on [low, high). */
function uniform({ attrs }: OpContext, shape: readonly number[], onnxType: number, op: string): Tensor {
  const g = generatorOf(attrs);
  const low = attrs.float('low', 0);
  const high = attrs.float('high', 1);
  return draws(shape, onnxType, op, () => low + (high - low) * g.uniform());
}

/** The shape attribute RandomNormal and RandomUniform require. */
function shapeAttr(attrs: Attrs, op: string): number[] {
  const shape = attrs.ints('shape');
  if (!shape) throw new Error(`${op} needs its shape attribute`);
  return shape;
}

export const randomOps: OpTable = {
  RandomNormal: { run: (ctx) => [normal(ctx, shapeAttr(ctx.attrs, 'RandomNormal'), ctx.attrs.int('dtype', 1), 'RandomNormal')] },
  RandomUniform: { run: (ctx) => [uniform(ctx, shapeAttr(ctx.attrs, 'RandomUniform'), ctx.attrs.int('dtype', 1), 'RandomUniform')] },
  RandomNormalLike: {
    run: (ctx) => {
      const x = input(ctx.values, 0);
      return [normal(ctx, x.shape, ctx.attrs.int('dtype', typeOf(x)), 'RandomNormalLike')];
    },
  },
  RandomUniformLike: {
    run: (ctx) => {
      const x = input(ctx.values, 0);
      return [uniform(ctx, x.shape, ctx.attrs.int('dtype', typeOf(x)), 'RandomUniformLike')];
    },
  },
  Bernoulli: {
    since: 15,
    run: ({ values, attrs }) => {
      const x = input(values, 0);
      const g = generatorOf(attrs);
      const p = numbers(x);
      const bad = p.find((v) => !(v >= 0 && v <= 1));
      if (bad !== undefined) throw new Error(`Bernoulli probability ${bad} is outside [0, 1]`);
      return [
        tensorOf(
          p.map((v) => (g.uniform() < v ? 1 : 0)),
          x.shape,
          attrs.int('dtype', typeOf(x)),
          'Bernoulli',
        ),
      ];
    },
  },
  Multinomial: {
    run: ({ values, attrs }) => {
      const x = input(values, 0);
      if (x.shape.length !== 2) throw new Error(`Multinomial input must be [batch, classes], got [${x.shape.join(', ')}]`);
      const [batch, classes] = x.shape as [number, number];
      const samples = attrs.int('sample_size', 1);
      const dtype = attrs.int('dtype', 6);
      if (dtype !== 6 && dtype !== 7) throw new Error(`Multinomial dtype ${dataTypeName(dtype)} must be INT32 or INT64`);
      checkElements([batch, samples], "Multinomial's output");
      const g = generatorOf(attrs);
      const logits = numbers(x);
      const out: number[] = [];
      for (let b = 0; b < batch; b++) {
        // Unnormalised log-probabilities: the cumulative weights exp(x − max), searched at a uniform point of their total.
        const row = logits.slice(b * classes, (b + 1) * classes);
        const top = Math.max(...row);
        const cumulative: number[] = [];
        let total = 0;
        for (const v of row) cumulative.push((total += Math.exp(v - top)));
        if (!(total > 0) || !Number.isFinite(total)) throw new Error(`Multinomial row ${b} has no finite probabilities`);
        for (let s = 0; s < samples; s++) {
          const u = g.uniform() * total;
          let k = 0;
          while (k < classes - 1 && cumulative[k]! <= u) k++;
          out.push(k);
        }
      }
      return [tensorOf(out, [batch, samples], dtype, 'Multinomial')];
    },
  },
};
