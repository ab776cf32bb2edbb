// @ts-check
'use strict';
/**
 * The training task of weights/train.js as a DataParallel task module (@gradlens/nn): every thread —
 * the main one and each worker — calls build(config, { rank, threads }) and gets the same model and
 * the same training pictures. config (plain data, from train.js): { name, seed, bn, images,
 * normalization, rampEpochs, dropout?, auxiliary?, vitShape? } (vit only: vitShape, the transformer's shape and stem; smallvgg only: dropout, the classifier's training-time
 * dropout; auxiliary, the weight of the auxiliary head's loss, 0 or absent for none).
 */
const path = require('path');

const root = path.resolve(__dirname, '..');
const T = require(path.join(root, 'packages/tensor/dist'));
const nn = require(path.join(root, 'packages/nn/dist'));

/**
 * Curriculum level of a 0-based epoch: the first rampEpochs epochs ramp the pictures from tinted
 * items on a flat background without clutter (large items) to the full composition; from then on,
 * and for every validation and test picture, the full default composition. Tints stay random
 * throughout: an earlier curriculum that also started from white items on black taught features that
 * did not transfer (validation stayed at 12–21% until the colours came in), and none of the nets left
 * chance level within 400 steps without any curriculum.
 * @param {number} epoch @param {number} rampEpochs
 */
function level(epoch, rampEpochs) {
  return rampEpochs > 0 ? Math.min(1, epoch / rampEpochs) : 1;
}

/** @param {number} t */
function levelConfig(t) {
  return t >= 1 ? {} : {
    backgroundContrast: 0.3 * t, noise: 0.03 * t,
    fragments: /** @type {[number, number]} */ ([Math.round(3 * t), Math.round(6 * t)]),
    itemSize: /** @type {[number, number]} */ ([Math.round(40 - 14 * t), Math.round(50 - 4 * t)]),
  };
}

/**
 * @typedef {{ name: 'gapnet' | 'smallvgg' | 'vit', seed: number, bn: boolean, images: number,
 *   normalization: { mean: number[], std: number[] }, rampEpochs: number, dropout?: number, auxiliary?: number,
 *   vitShape?: { numLayers: number, numHeads: number, hiddenDim: number, mlpDim: number, stem: number[][] } }} TaskConfig
 */

/**
 * The model (initialised from the seed; the workers' copies are overwritten every step) and the
 * training set of each 0-based epoch: items (e·images … (e+1)·images − 1) mod 60000 of the train
 * split, freshly composed at that epoch's curriculum level.
 * @param {TaskConfig} config @param {{ rank: number, threads: number }} context
 */
function build(config, context) {
  const { name, seed, bn, images, normalization, rampEpochs, dropout, auxiliary = 0, vitShape } = config;
  T.manualSeed(seed + context.rank);
  // With --bn the model trains with a BatchNorm after every conv (nn.bundledModels), folded away at the end.
  // With --auxiliary W smallvgg trains an auxiliary head over its pooled features too (loss: classifier's + W · head's), dropped at the end.
  const build = name === 'vit' ? nn.smallvit : nn.bundledModels[name].build;
  const model = build({
    generator: new T.Generator(seed), batchNorm: bn, ...(vitShape ?? {}), ...(name === 'vit' || dropout === undefined ? {} : { dropout }), ...(auxiliary > 0 && name !== 'vit' ? { auxiliary: true } : {}),
  });
  // Each thread its own dropout masks (rank 0 keeps the single-thread run's generator).
  for (const [, m] of model.namedModules()) if (m instanceof nn.Dropout) m.generator = new T.Generator(seed + 7 + 1009 * context.rank);
  return {
    model,
    lossFn: auxiliary > 0
      ? name === 'vit'
        ? vitAuxiliaryLoss(/** @type {import("../packages/nn/dist").VisionTransformer} */ (model), auxiliary, new T.Generator(seed + 11))
        : nn.auxiliaryLoss(/** @type {import("../packages/nn/dist").SmallVGG} */ (model), auxiliary)
      : undefined,
    /** @param {number} epoch */
    trainSet: (epoch) => new nn.ClutteredFashionMnist({
      split: 'train', seed, length: images, epoch, normalize: normalization, config: levelConfig(level(epoch, rampEpochs)),
    }),
  };
}

/**
 * The vit's deep supervision while training (--auxiliary W): registers \`auxiliary\`, a Linear(hidden → 10)
 * over the mean of the encoder's patch tokens (after its final LayerNorm), on the model, and returns the
 * loss crossEntropy(class-token logits) + W · crossEntropy(pooled-token logits). Every patch token gets a
 * gradient from the labels from the first step, where the class token's zero-initialised head alone left
 * chance level only after 200–300 steps (weights/README.md). The published model drops the head
 * (foldConvStemBatchNorm copies torchvision's keys only), so it stays torchvision's VisionTransformer.
 * @param {import("../packages/nn/dist").VisionTransformer} model @param {number} weight @param {import("../packages/tensor/dist").Generator} generator
 */
function vitAuxiliaryLoss(model, weight, generator) {
  const hidden = model.config.hiddenDim;
  const head = new nn.Linear(hidden, 10, { generator });
  /** @type {any} */ (model).registerModule('auxiliary', head);
  const encoder = model.encoder;
  const forward = encoder.forward.bind(encoder);
  /** @type {import("../packages/tensor/dist").Tensor | null} */
  let tokens = null;
  // The encoder's output of the last training-mode forward (the loss runs right after it, on the same tape).
  encoder.forward = (/** @type {import("../packages/tensor/dist").Tensor} */ x) => {
    const y = forward(x);
    tokens = model.training ? y : null;
    return y;
  };
  return (/** @type {import("../packages/tensor/dist").Tensor} */ output, /** @type {import("../packages/tensor/dist").Tensor} */ target) => {
    const t = tokens;
    tokens = null;
    if (t === null) return T.crossEntropy(output, target);
    const pooled = T.mean(T.slice(t, 1, 1, t.shape[1] ?? 1), { dim: 1 });
    return T.add(T.crossEntropy(output, target), T.mul(T.crossEntropy(head.call(pooled), target), weight));
  };
}

module.exports = { build, level, levelConfig, vitAuxiliaryLoss };
