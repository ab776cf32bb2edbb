/** What the op tests share: a node's attributes as the decoder gives them, one op run alone, relative error. */
import type { Value } from '@gradlens/onnx';
import { onnxOps } from '@gradlens/onnx';
import { Attrs } from '../src/attrs';
import type { NodeMessage } from '../src/proto';

export type AttrValue = { i: number } | { f: number } | { ints: number[] } | { floats: number[] } | { s: string } | { strings: string[] };

/** A node carrying `attrs`, as the decoder would give it. */
export function attrsOf(attrs: Record<string, AttrValue> = {}, opType = 'x'): Attrs {
  const attribute = Object.entries(attrs).map(([name, v]) => ({
    name,
    ints: 'ints' in v ? v.ints : [],
    floats: 'floats' in v ? v.floats : [],
    ...('i' in v ? { i: v.i } : {}),
    ...('f' in v ? { f: v.f } : {}),
    ...('s' in v ? { s: Buffer.from(v.s) } : {}),
    strings: 'strings' in v ? v.strings.map((x) => Buffer.from(x)) : [],
  }));
  return new Attrs({ opType, input: [], output: [], attribute } as unknown as NodeMessage, { baseDir: null });
}

/** One op's outputs on `values`. */
export function runOp(op: string, values: (Value | null)[], attrs: Record<string, AttrValue> = {}, opset = 17, outputs = 1): Value[] {
  return onnxOps[op]!.run({ values, attrs: attrsOf(attrs, op), opset, outputs });
}

/** max |a − b| / max |b|: the error relative to the reference's scale (the lengths must agree). */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relError: ${a.length} values against ${b.length}`);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return err / scale;
}
