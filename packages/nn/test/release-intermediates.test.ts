import { grad, keep, noGrad, numTensors, record, sum, tensor, tidy, type Tensor } from '@gradlens/tensor';
import { Identity, Linear, Module, observeModuleCalls, ReLU, releasingIntermediates, Sequential } from '../src';

/** A layer whose output is a kept tensor (its parameter), not something the pass made. */
class Constant extends Module {
  readonly value = keep(tensor([[1, 2, 3]]));
  forward(): Tensor {
    return this.value;
  }
}

function net(): Sequential {
  return new Sequential(new Linear(3, 4), new ReLU(), new Linear(4, 4), new ReLU(), new Identity(), new Linear(4, 2));
}

/** Live tensors right after the call, inside its scope, and the output's values. */
function liveAfterCall(model: Module, x: Tensor, release: boolean): { live: number; out: number[] } {
  let live = 0;
  let out: number[] = [];
  noGrad(() =>
    tidy(() => {
      const y = release ? releasingIntermediates(() => model.call(x)) : model.call(x);
      live = numTensors();
      out = Array.from(y.dataSync());
    }),
  );
  return { live, out };
}

describe('releasingIntermediates: containers free consumed outputs nothing else holds', () => {
  test('a pass frees its intermediates as it goes, with the same output', () => {
    const model = net();
    const x = keep(tensor([[0.5, -1, 2]]));
    const kept = liveAfterCall(model, x, false);
    const released = liveAfterCall(model, x, true);
    expect(released.out).toEqual(kept.out);
    // Linear, ReLU, Linear, ReLU (the Identity passes its input through) made four intermediates: freed now.
    expect(kept.live - released.live).toBe(4);
    x.dispose();
    // The container's input is the caller's, even when the caller's own scope made it.
    noGrad(() =>
      tidy(() => {
        const input = tensor([[1, 2, 3]]);
        releasingIntermediates(() => model.call(input));
        expect(input.isDisposed).toBe(false);
      }),
    );
  });

  test('nothing is freed while a tape records: the backward pass needs them', () => {
    const model = net();
    const x = keep(tensor([[0.5, -1, 2]]));
    const expected = tidy(() => Array.from(grad((v) => sum(model.call(v)), [x])[0]!.dataSync()));
    const got = tidy(() => Array.from(releasingIntermediates(() => grad((v) => sum(model.call(v)), [x])[0]!.dataSync())));
    expect(got).toEqual(expected);
    const { output, tape } = releasingIntermediates(() => record(() => model.call(x)));
    expect(tape.nodes.every((n) => n.inputs.every((t) => !t.isDisposed))).toBe(true);
    tape.dispose();
    output.dispose();
    x.dispose();
  });

  test('a kept output (a parameter) and anything seen by observeModuleCalls stay alive', () => {
    const constant = new Constant();
    const model = new Sequential(constant, new ReLU(), new Linear(3, 2));
    const x = keep(tensor([[0, 0, 0]]));
    liveAfterCall(model, x, true);
    expect(constant.value.isDisposed).toBe(false);
    const seen: Tensor[] = [];
    noGrad(() =>
      tidy(() => {
        releasingIntermediates(() =>
          observeModuleCalls(
            (_m, _in, out) => seen.push(out),
            () => net().call(x),
          ),
        );
        expect(seen.every((t) => !t.isDisposed)).toBe(true);
      }),
    );
    x.dispose();
  });
});
