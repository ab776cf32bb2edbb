/**
 * What the nn parity tests share: a fixture's arrays by key, as tensors, the relative error of a whole output, and
 * the forward and gradient checks of the reduced torchvision models.
 */
import * as path from 'path';
import { readNpz, type NdArray } from '@gradlens/io';
import { grad, mul, numTensors, record, sum, type Tensor, tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';

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

/** Logs `what: name err, …` (the errors a parity test measured, for the record in the test output). */
export function reportErrors(what: string, errs: Record<string, number>): void {
  console.log(
    `${what}: ${Object.entries(errs)
      .map(([k, e]) => `${k} ${e.toExponential(2)}`)
      .join(', ')}`,
  );
}

/**
 * Runs `model` on the fixture's `input` and checks its logits (`logits`) and the activations at module paths
 * (path → the fixture's key) against PyTorch's, each within 1e-4 relative, leaving no tensor behind.
 */
export function expectForwardParity(what: string, model: Module, arr: (key: string) => NdArray, layers: Record<string, string>): void {
  const before = numTensors();
  const x = asTensor(arr('input'));
  const { output, tape } = record(() => model.call(x));
  const errs: Record<string, number> = { logits: relError(output, arr('logits')) };
  for (const [layer, key] of Object.entries(layers)) errs[layer] = relError(tape.activation(layer), arr(key));
  reportErrors(what, errs);
  for (const e of Object.values(errs)) expect(e).toBeLessThanOrEqual(1e-4);
  tape.dispose();
  output.dispose();
  x.dispose();
  expect(numTensors()).toBe(before);
}

/**
 * Checks the gradients of sum(model(input) · weights) with respect to the input (`input_grad`) and to each parameter
 * the fixture holds a `grad.<name>` for against PyTorch's, each within 1e-4 relative; returns those parameters'
 * gradients by name (copies, for a test's own further checks).
 */
export function expectGradientParity(what: string, model: Module, fixture: ReturnType<typeof npzFixture>): Record<string, Float32Array> {
  const { arrays, arr } = fixture;
  const names = Object.keys(arrays)
    .filter((k) => k.startsWith('grad.'))
    .map((k) => k.slice(5));
  const params = Object.fromEntries(model.namedParameters());
  const x = asTensor(arr('input'));
  const w = asTensor(arr('weights'));
  const [gx, ...gp] = grad((xi) => sum(mul(model.call(xi!), w)), [x, ...names.map((n) => params[n]!)]);
  const errs: Record<string, number> = { input: relError(gx!, arr('input_grad')) };
  names.forEach((n, i) => (errs[n] = relError(gp[i]!, arr(`grad.${n}`))));
  reportErrors(what, errs);
  for (const e of Object.values(errs)) expect(e).toBeLessThanOrEqual(1e-4);
  const grads = Object.fromEntries(names.map((n, i) => [n, Float32Array.from(gp[i]!.dataSync())]));
  for (const t of [x, w, gx!, ...gp]) t.dispose();
  return grads;
}
