/** What the nn parity tests share: a fixture's arrays by key, as tensors, and the relative error of a whole output. */
import * as path from 'path';
import { readNpz, type NdArray } from '@gradlens/io';
import { type Tensor, tensor } from '@gradlens/tensor';

/** The arrays of an .npz fixture and a lookup by key that names the file and key when one is missing. */
export function npzFixture(file: string): { arrays: Record<string, NdArray>; arr: (key: string) => NdArray } {
  const arrays = readNpz(file);
  const arr = (key: string): NdArray => {
    const a = arrays[key];
    if (!a) throw new Error(`${path.basename(file)} has no '${key}'`);
    return a;
  };
  return { arrays, arr };
}

/** A float32 tensor holding an array's values. */
export const asTensor = (a: NdArray): Tensor => tensor(Float32Array.from(a.data as ArrayLike<number>), a.shape);

/** max |got − want| / max |want|: the relative error of a whole output (the shapes must agree). */
export function relError(got: Tensor, want: NdArray): number {
  expect([...got.shape]).toEqual(want.shape);
  const g = got.dataSync();
  const w = want.data as ArrayLike<number>;
  let num = 0;
  let den = 0;
  for (let i = 0; i < w.length; i++) {
    num = Math.max(num, Math.abs(g[i]! - w[i]!));
    den = Math.max(den, Math.abs(w[i]!));
  }
  return num / den;
}
