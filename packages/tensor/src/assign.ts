import type { TypedArray } from './dtype';
import { fmt } from './errors';
import { Tensor } from './tensor';

/** New values for `assign`: a tensor or numbers of the target's size, or a function that updates the values in place. */
export type AssignSource = Tensor | ArrayLike<number> | ((values: TypedArray) => void);

/**
 * Writes new values into `t` in place and returns it: the one way to change a tensor (weight
 * initialisation, loading a state dict, an optimiser step, restoring saved weights). Tensors that
 * share `t`'s values (its reshapes) see the change; a device copy is dropped, so device backends
 * upload the new values. Do it outside a recorded pass: a tape that holds `t` would see the new values.
 */
export function assign(t: Tensor, source: AssignSource): Tensor {
  if (!(t instanceof Tensor)) throw new Error(`assign: expected a Tensor to write into, got ${typeof t}`);
  if (t.isDisposed) throw new Error(`assign: tensor #${t.id} ${fmt(t.shape)} was disposed`);
  if (typeof source === 'function') {
    t.writeValues(source);
    return t;
  }
  const from = source instanceof Tensor ? source.values() : source;
  if (from.length !== t.size) {
    const what = source instanceof Tensor ? `a tensor of shape ${fmt(source.shape)}` : `${from.length} values`;
    throw new Error(`assign: ${what} cannot fill tensor ${fmt(t.shape)} (${t.size} elements)`);
  }
  t.writeValues((v) => {
    if (v !== from) (v as Float64Array).set(from as ArrayLike<number>);
  });
  return t;
}
