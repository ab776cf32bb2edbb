/** A model's output on a picture, read once (kept free of Node's modules: the web page reads it as the CLI does). */
import { noGrad, tidy } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';

/** The model's output on `input` (item 0, without recording): its shape and values. */
export interface ModelOutput {
  shape: number[];
  values: Float32Array;
}

/** Runs the model once without recording; returns item 0's output. */
export function modelOutput(model: Module, input: Tensor): ModelOutput {
  return noGrad(() => {
    let out: ModelOutput = { shape: [], values: new Float32Array(0) };
    tidy(() => {
      const y = model.call(input);
      const per = y.shape.slice(1).reduce((a, b) => a * b, 1);
      out = { shape: [...y.shape], values: Float32Array.from(y.dataSync().subarray(0, per)) };
    });
    return out;
  });
}
