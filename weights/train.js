#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Trains a bundled model (gapnet, smallvgg or vit) on cluttered Fashion-MNIST with gradlens itself, and
 * writes weights/<name>.safetensors (state dict), weights/<name>.json (the card) and
 * weights/<name>.log (per-epoch accuracy and time). Needs Debian's dataset-fashion-mnist and a
 * build (`npx tsc -b`). Every random choice is seeded: the same flags give the same run.
 *
 *   node weights/train.js --model gapnet [--epochs 10] [--images 4096] [--batch 32] [--lr 0.002]
 *        [--wd 0.0005] [--seed 1] [--val 1000] [--test 10000] [--out weights] [--trial] [--workers N]
 *        [--dropout 0.3 (smallvgg)] [--auxiliary 0 (smallvgg, vit)] [--budget-minutes M] [--no-decay-norms]
 *        [--layers 2 --heads 4 --hidden 64 --mlp 128 --stem 32:2,32:1,64:2,64:1,128:2,128:1 (vit; defaults: nn.SMALLVIT_CONFIG, nn.SMALLVIT_STEM)]
 *
 * `--help` lists every flag; an unknown or mistyped flag stops the script before it writes anything.
 *
 * An "epoch" here is --images freshly composed training pictures: epoch e draws items
 * (e·images … (e+1)·images − 1) mod 60000 of the training split with new backgrounds, tints, places
 * and clutter (`setEpoch`), so every epoch is new data. Validation after each epoch uses the first
 * --val pictures of the test split; the card's test accuracy is over --test pictures of it, once, at
 * the end (no model selection on it).
 *
 * --workers N (default: the number of CPU cores) trains data-parallel over N threads (nn.DataParallel):
 * each batch is cut into N contiguous shards, the main thread and N − 1 worker threads each compose
 * their shard's pictures and compute its gradients, and the main thread averages them and steps the
 * optimiser. Every thread builds the model and the pictures from weights/train-task.js. --workers 1
 * computes everything on the main thread, as before. The same flags and the same N give the same run;
 * with BatchNorm (--bn), N changes the run (each shard is normalised with its own statistics).
 *
 * --budget-minutes M fits the run to M minutes of training instead of a fixed number of epochs: --epochs
 * is the first plan, and after every epoch the plan becomes the epochs done plus as many more as the
 * time left holds at the last epoch's pace (+8%), so the cosine ends at the last planned step however fast
 * the machine runs that day (epoch times here vary by up to 40% between runs). Such a run depends on the
 * machine's speed, so it is not repeatable from its flags; the log prints every plan.
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const { declareFlags } = require('../scripts/flags');
// Read before anything else: --help and a mistyped flag must not start a run that overwrites weights/.
const { arg } = declareFlags({
  usage: 'node weights/train.js --model gapnet|smallvgg|vit [flags] (writes <out>/<model>.safetensors, .json, .log)',
  flags: {
    model: { kind: 'string', value: 'NAME', help: 'gapnet (default), smallvgg or vit' },
    epochs: { kind: 'number', help: 'epochs (default 10); with --budget-minutes the first plan' },
    images: { kind: 'number', help: 'freshly composed training pictures per epoch (default 4096)' },
    batch: { kind: 'number', help: 'pictures per optimiser step (default 32)' },
    lr: { kind: 'number', help: 'AdamW learning rate after the warm-up (default: the model\'s recipe)' },
    wd: { kind: 'number', help: 'AdamW decoupled weight decay (default: the model\'s recipe)' },
    warmup: { kind: 'number', help: 'linear warm-up steps before the cosine (default: the model\'s recipe)' },
    seed: { kind: 'number', help: 'seed of every random choice (default 1)' },
    val: { kind: 'number', help: 'validation pictures after each epoch: the first N of the test split (default 1000)' },
    test: { kind: 'number', help: 'test pictures scored once at the end (default 10000)' },
    out: { kind: 'string', value: 'DIR', help: 'folder of the weights, card and log (default: weights/, the bundled ones)' },
    trial: { kind: 'switch', help: 'a trial: writes <model>.trial.log only' },
    shared: { kind: 'switch', help: 'worker threads share the weights\' memory (default true)' },
    curriculum: { kind: 'number', help: 'fraction of the epochs that ramps up the composition (default 0.5)' },
    'max-minutes': { kind: 'number', value: 'M', help: 'stop before an epoch that would end past M minutes (default 28)' },
    'budget-minutes': { kind: 'number', value: 'M', help: 'fit the run to M minutes, re-planning the epochs after each (default 0: off)' },
    bn: { kind: 'switch', help: 'a BatchNorm after every conv while training, folded at the end' },
    dropout: { kind: 'number', help: 'smallvgg\'s classifier dropout while training (default 0.3)' },
    auxiliary: { kind: 'number', help: 'loss weight of an auxiliary head while training (smallvgg, vit; default 0: none)' },
    'no-decay-norms': { kind: 'switch', help: 'no weight decay on biases, norm weights, class token, position embedding' },
    layers: { kind: 'number', help: 'vit: encoder layers (default nn.SMALLVIT_CONFIG)' },
    heads: { kind: 'number', help: 'vit: attention heads (default nn.SMALLVIT_CONFIG)' },
    hidden: { kind: 'number', help: 'vit: token width (default nn.SMALLVIT_CONFIG)' },
    mlp: { kind: 'number', help: 'vit: MLP width (default nn.SMALLVIT_CONFIG)' },
    stem: { kind: 'string', value: 'C:S,…', help: 'vit: the conv stem, channels:stride per 3×3 conv (default nn.SMALLVIT_STEM)' },
    workers: { kind: 'number', help: 'threads of data-parallel training (default: the CPU cores)' },
    commit: { kind: 'string', value: 'TEXT', help: 'the code version for the card (default: git rev-parse HEAD)' },
  },
});

const root = path.resolve(__dirname, '..');
const T = require(path.join(root, 'packages/tensor/dist'));
const nn = require(path.join(root, 'packages/nn/dist'));

const RECIPES = {
  gapnet: { epochs: 10, images: 4096, batch: 32, lr: 0.002, wd: 0.0005, warmup: 60 },
  smallvgg: { epochs: 10, images: 4096, batch: 32, lr: 0.001, wd: 0.0005, warmup: 60 },
  vit: { epochs: 10, images: 4096, batch: 32, lr: 0.001, wd: 0.05, warmup: 100 },
};
const name = arg('model', 'gapnet');
if (!(name in RECIPES)) throw new Error(`--model must be one of ${Object.keys(RECIPES).join(', ')}, got ${name}`);
const recipe = RECIPES[/** @type {'gapnet' | 'smallvgg' | 'vit'} */ (name)];
const epochs = Number(arg('epochs', String(recipe.epochs)));
const images = Number(arg('images', String(recipe.images)));
const batch = Number(arg('batch', String(recipe.batch)));
const lr = Number(arg('lr', String(recipe.lr)));
const wd = Number(arg('wd', String(recipe.wd)));
const warmup = Number(arg('warmup', String(recipe.warmup)));
const seed = Number(arg('seed', '1'));
const valCount = Number(arg('val', '1000'));
const testCount = Number(arg('test', '10000'));
const testSeed = 20240601; // the compositions of the test split used for every reported number
const outDir = path.resolve(arg('out', path.join(root, 'weights')));
const trial = arg('trial', 'false') === 'true';
const shared = arg('shared', 'true') === 'true';
const curriculum = Number(arg('curriculum', '0.5'));
const maxMinutes = Number(arg('max-minutes', '28'));
const budgetMinutes = Number(arg('budget-minutes', '0'));
if (!(budgetMinutes >= 0 && Number.isFinite(budgetMinutes))) throw new Error(`--budget-minutes must be a number ≥ 0 (0: a fixed number of epochs), got ${budgetMinutes}`);
// A budgeted run may plan more epochs than --epochs, up to four times as many; the budget stops it.
const maxEpochs = budgetMinutes > 0 ? 4 * epochs : epochs;
const bn = arg('bn', 'false') === 'true';
// smallvgg's classifier dropout while training (the published model is the same either way: dropout is off in eval).
const dropout = Number(arg('dropout', '0.3'));
if (!(dropout >= 0 && dropout < 1)) throw new Error(`--dropout must be in [0, 1), got ${dropout}`);
// Deep supervision while training (smallvgg: nn.auxiliaryLoss; vit: train-task.js vitAuxiliaryLoss): the weight of an auxiliary head's loss (0: none). The published model has no such head.
const auxiliary = Number(arg('auxiliary', '0'));
if (!(auxiliary >= 0 && Number.isFinite(auxiliary))) throw new Error(`--auxiliary must be a number ≥ 0, got ${auxiliary}`);
if (auxiliary > 0 && name === 'gapnet') throw new Error('--auxiliary is for smallvgg and vit (gapnet\'s head already is one linear layer over pooled features)');
/** --stem's 'channels:stride,…' as [channels, stride] pairs of positive integers. @param {string} text */
function parseStem(text) {
  return text.split(',').map((part) => {
    const pair = part.split(':').map(Number);
    if (pair.length !== 2 || !pair.every((v) => Number.isInteger(v) && v > 0)) throw new Error(`--stem must be channels:stride pairs of positive integers separated by commas (as 32:2,32:1), got '${text}'`);
    return /** @type {[number, number]} */ (pair);
  });
}
// The vit's shape (trials; the bundled weights use the defaults, nn.SMALLVIT_CONFIG and nn.SMALLVIT_STEM).
const vitShape = name === 'vit'
  ? {
    numLayers: Number(arg('layers', String(nn.SMALLVIT_CONFIG.numLayers))),
    numHeads: Number(arg('heads', String(nn.SMALLVIT_CONFIG.numHeads))),
    hiddenDim: Number(arg('hidden', String(nn.SMALLVIT_CONFIG.hiddenDim))),
    mlpDim: Number(arg('mlp', String(nn.SMALLVIT_CONFIG.mlpDim))),
    stem: parseStem(arg('stem', nn.SMALLVIT_STEM.map(([c, st]) => `${c}:${st}`).join(','))),
  }
  : undefined;
const workers = Number(arg('workers', String(typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length)));
if (!Number.isInteger(workers) || workers < 1) throw new Error(`--workers must be a positive integer, got ${workers}`);
const { level } = require('./train-task');

/** @param {string} dir */
function gitCommit(dir) {
  try {
    return execFileSync('git', ['-C', dir, 'rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}
const commit = arg('commit', '') || gitCommit(root);

const logFile = path.join(outDir, `${name}${trial ? '.trial' : ''}.log`);
const logLines = /** @type {string[]} */ ([]);
/** @param {string} line */
function log(line) {
  const stamped = `[${new Date().toISOString()}] ${line}`;
  logLines.push(stamped);
  process.stdout.write(stamped + '\n');
  fs.writeFileSync(logFile, logLines.join('\n') + '\n');
}

const wallStart = Date.now();
T.manualSeed(seed);
// The vit's entry is nn.bundledModels.vit's, with the CAM layer of the --layers a trial asks for.
const info = name === 'vit'
  ? { build: nn.smallvit, inputSize: [3, 64, 64], classes: nn.FASHION_MNIST_CLASSES, targetLayer: `encoder.layers.encoder_layer_${(vitShape?.numLayers ?? 2) - 1}.ln_1`, weights: 'vit.safetensors', card: 'vit.json' }
  : nn.bundledModels[/** @type {'gapnet' | 'smallvgg'} */ (name)];
const paramCount = info.build({ init: false, ...(vitShape ?? {}) }).parameters().reduce((a, p) => a + p.size, 0);

// Normalisation from the train split (2000 compositions of the seed's first epoch).
const raw = new nn.ClutteredFashionMnist({ split: 'train', seed });
const stats = nn.channelStats(raw, 2000);
const round = (/** @type {number} */ v) => Math.round(v * 1e4) / 1e4;
const normalization = { mean: stats.mean.map(round), std: stats.std.map(round) };

// The curriculum (train-task.js): the first --curriculum fraction of the epochs ramps from tinted items
// on a flat background without clutter to the full composition.
const rampEpochs = Math.round(curriculum * epochs);

// Every thread builds the model and the training pictures from train-task.js; the main thread's model is the one trained.
const dp = new nn.DataParallel({
  module: path.join(__dirname, 'train-task.js'),
  config: { name, seed, bn, images, normalization, rampEpochs, dropout, auxiliary, vitShape },
  threads: workers,
  batchSize: batch,
  shuffle: true,
  seed,
  dropLast: true,
});
const trained = dp.model;
const batchesPerEpoch = dp.length;
const samplesPerEpoch = dp.samplesPerEpoch;
const val = new nn.ClutteredFashionMnist({ split: 'test', seed: testSeed, length: valCount, normalize: normalization });
const valLoader = new nn.DataLoader(val, { batchSize: 100 });

/**
 * AdamW whose decoupled weight decay skips some parameters (torch's two parameter groups, the second with
 * weight_decay 0): with --no-decay-norms, every parameter of fewer than 2 dims (biases, norm weights) and
 * the ViT's class token and position embedding, as the usual ViT recipes (and scripts/vit_probe.py
 * --nodecay-norms) leave them.
 */
class AdamWSkippingDecay extends nn.AdamW {
  /** @param {readonly import("../packages/tensor/dist").Tensor[]} params @param {import("../packages/nn/dist").AdamOptions} options @param {ReadonlySet<number>} skip indices into params */
  constructor(params, options, skip) {
    super(params, options);
    this.skip = skip;
  }

  /** @param {number} i @param {Float32Array | Float64Array} p @param {ArrayLike<number>} g @param {(v: number) => number} r */
  update(i, p, g, r) {
    /** @type {any} */ (this).adamUpdate(i, p, g, r, this.skip.has(i) ? 1 : r(1 - this.lr * this.weightDecay), this.maximize ? -1 : 1);
  }
}
const noDecayNorms = arg('no-decay-norms', 'false') === 'true';
const named = trained.namedParameters();
const skipDecay = new Set(noDecayNorms ? named.flatMap(([n, t], i) => (t.rank < 2 || n === 'class_token' || n === 'encoder.pos_embedding' ? [i] : [])) : []);
const optimizer = noDecayNorms ? new AdamWSkippingDecay(trained.parameters(), { lr, weightDecay: wd }, skipDecay) : new nn.AdamW(trained.parameters(), { lr, weightDecay: wd });
let totalSteps = epochs * batchesPerEpoch;
const startFactor = 0.05;
/**
 * The time-budgeted schedule (--budget-minutes): warmupCosine's shape in closed form — linear warm-up
 * from startFactor·lr over `warmup` steps, then a half cosine to 0 at step `totalSteps` — whose end
 * moves whenever the plan changes.
 */
const budgetSchedule = {
  done: 0,
  step() {
    this.done++;
    this.apply();
  },
  apply() {
    const s = this.done;
    optimizer.lr = s < warmup
      ? lr * (startFactor + ((1 - startFactor) * s) / warmup)
      : (lr * (1 + Math.cos((Math.PI * Math.min(1, (s - warmup) / Math.max(1, totalSteps - warmup))))) / 2);
  },
};
if (budgetMinutes > 0) budgetSchedule.apply();
const scheduler = budgetMinutes > 0 ? budgetSchedule : nn.warmupCosine(optimizer, { warmupEpochs: warmup, epochs: totalSteps, startFactor });
/** @type {string[]} */
const plans = [];

log(`gradlens ${commit} · node ${process.version} · ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'})${shared ? ' · machine shared with other jobs' : ''}`);
log(`${name}${bn ? ' (trained with BatchNorm, folded at the end)' : ''}: ${paramCount} parameters · curriculum over ${rampEpochs} epochs · ${epochs} epochs × ${images} images (batch ${batch}, ${totalSteps} steps) · AdamW lr ${lr} wd ${wd}${noDecayNorms ? ` (not on ${skipDecay.size} of ${named.length} parameters: biases, norms, class token, position embedding)` : ''}${name === 'smallvgg' ? ` · dropout ${dropout}` : ''}${auxiliary > 0 ? ` · auxiliary head, loss weight ${auxiliary}` : ''} · warmup ${warmup} steps then cosine (per step${budgetMinutes > 0 ? `, its end re-planned after every epoch to fit ${budgetMinutes} minutes` : ''}) · seed ${seed}`);
log(`data-parallel over ${workers} thread${workers === 1 ? '' : 's'} (the main one${workers > 1 ? ` and ${workers - 1} worker${workers > 2 ? 's' : ''}` : ' only'}): ${batch} pictures per batch in shards of ${nn.shardBounds(batch, workers).map(([a, b]) => b - a).join(' + ')}${bn && workers > 1 ? '; BatchNorm statistics per shard, running statistics from the main thread\'s' : ''}`);
log(`load average (1, 5, 15 min) before training: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
log(`normalisation (2000 train compositions): mean [${normalization.mean.join(', ')}] std [${normalization.std.join(', ')}]`);

const trainStart = Date.now();
let history;
try {
  history = dp.fit({
    val: valLoader,
    epochs: maxEpochs,
    optimizer,
    scheduler,
    schedulerInterval: 'batch',
    log: { tty: false },
    onEpoch: (s) => {
      const elapsed = (Date.now() - trainStart) / 1000;
      log(`epoch ${s.epoch}/${totalSteps / batchesPerEpoch} · level ${level(s.epoch - 1, rampEpochs).toFixed(2)} · train loss ${s.loss.toFixed(4)} acc ${(100 * s.accuracy).toFixed(1)}% · val (test[0:${valCount}]) loss ${s.valLoss?.toFixed(4)} acc ${(100 * (s.valAccuracy ?? NaN)).toFixed(1)}% · lr ${s.lr.toExponential(2)} · ${s.seconds.toFixed(0)} s (total ${elapsed.toFixed(0)} s)`);
      if (budgetMinutes > 0) {
        // Re-plan: the epochs done, plus as many as the time left holds at this epoch's pace with 8% to spare.
        const more = Math.max(0, Math.floor((budgetMinutes * 60 - elapsed) / (1.08 * s.seconds)));
        const planned = Math.max(s.epoch, Math.min(maxEpochs, s.epoch + more));
        if (planned * batchesPerEpoch !== totalSteps) {
          totalSteps = planned * batchesPerEpoch;
          plans.push(`after epoch ${s.epoch}: ${planned}`);
          log(`plan: ${planned} epochs (${totalSteps} steps; ${(elapsed / 60).toFixed(1)} of ${budgetMinutes} min spent, the last epoch took ${s.seconds.toFixed(0)} s)`);
        }
        return s.epoch < planned;
      }
      if (elapsed > maxMinutes * 60 && s.epoch < epochs) {
        log(`stopping after epoch ${s.epoch}: ${(elapsed / 60).toFixed(1)} min exceeds --max-minutes ${maxMinutes}`);
        return false;
      }
      return true;
    },
  });
} finally {
  void dp.close();
}
const trainSeconds = (Date.now() - trainStart) / 1000;
const plannedEpochs = totalSteps / batchesPerEpoch;

// The published model: the trained one with its BatchNorms folded into the layers before them and
// without the auxiliary head (checked equal).
const model = bn || auxiliary > 0 ? nn.foldBatchNorm(/** @type {import("../packages/nn/dist").GapNet} */ (trained)) : trained;
if (bn || auxiliary > 0) {
  trained.eval();
  model.eval();
  const first = [...new nn.DataLoader(val, { batchSize: 50 })][0];
  if (!first) throw new Error('no validation batch');
  const diff = T.noGrad(() => T.tidy(() => T.max(T.abs(T.sub(trained.call(first.x), model.call(first.x)))).item()));
  first.dispose();
  log(`${bn ? 'folded BatchNorm into the layers before them' : 'copied'}${auxiliary > 0 ? ', without the auxiliary head' : ''}: largest logit difference ${diff.toExponential(2)}`);
  if (!(diff < 1e-3)) throw new Error(`folding changed the outputs by ${diff}`);
}

const testStart = Date.now();
const test = new nn.ClutteredFashionMnist({ split: 'test', seed: testSeed, length: testCount, normalize: normalization });
const result = nn.evaluate(model, new nn.DataLoader(test, { batchSize: 100 }));
const testSeconds = (Date.now() - testStart) / 1000;
log(`test accuracy ${(100 * result.accuracy).toFixed(2)}% on ${result.count} test-split pictures (loss ${result.loss.toFixed(4)}) · evaluation ${testSeconds.toFixed(0)} s`);
log(`load average (1, 5, 15 min) after: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
log(`training ${trainSeconds.toFixed(0)} s (${(trainSeconds / 60).toFixed(1)} min) · whole run ${((Date.now() - wallStart) / 1000).toFixed(0)} s`);

if (!trial) {
  const weights = path.join(outDir, info.weights);
  nn.saveCheckpoint(weights, model, { metadata: { model: name, test_accuracy: result.accuracy, epochs: plannedEpochs, seed } });
  const card = {
    name,
    architecture: name === 'vit'
      ? `torchvision VisionTransformer(image_size=64, patch_size=8, num_layers=${vitShape?.numLayers}, num_heads=${vitShape?.numHeads}, hidden_dim=${vitShape?.hiddenDim}, mlp_dim=${vitShape?.mlpDim}, num_classes=10, conv_stem_configs=[${vitShape?.stem.map(([c, st]) => `ConvStemConfig(out_channels=${c}, kernel_size=3, stride=${st}, norm_layer=None)`).join(', ')}]): conv stem of 3×3 convs ${vitShape?.stem.map(([c, st]) => `${c}/${st}`).join(' · ')} (channels/stride) with ReLU, conv_last 1×1 → ${vitShape?.hiddenDim} (8×8 = 64 patch tokens + class token), ${vitShape?.numLayers} pre-norm encoder layers, heads.head on the class token`
      : name === 'gapnet'
      ? 'GapNet: conv3x3/2(3→32)-ReLU · conv3x3(32→32)-ReLU-maxpool2 · conv3x3(32→64)-ReLU · conv3x3(64→64)-ReLU-maxpool2 · conv3x3(64→128)-ReLU · conv3x3(128→128)-ReLU (8×8) · global average pool · Linear(128→10)'
      : 'SmallVGG: conv3x3/2(3→32)-ReLU · conv3x3(32→32)-ReLU-maxpool2 · conv3x3(32→64)-ReLU · conv3x3(64→64)-ReLU-maxpool2 · conv3x3(64→128)-ReLU · conv3x3(128→128)-ReLU-maxpool2 (4×4) · Linear(2048→256)-ReLU-Dropout · Linear(256→10)',
    builder: name === 'vit' ? '@gradlens/nn smallvit()' : `@gradlens/nn ${name}()`,
    parameters: paramCount,
    targetLayer: info.targetLayer,
    classes: [...info.classes],
    inputSize: [...info.inputSize],
    inputRange: 'RGB in [0, 1], then (x − mean) / std per channel',
    normalization,
    dataset: {
      name: 'cluttered Fashion-MNIST (@gradlens/nn ClutteredFashionMnist, default ClutterConfig)',
      source: "Debian dataset-fashion-mnist (train: 60 000 images, test: 10 000)",
      trainSeed: seed,
      testSeed,
      trainingPictures: history.epochs.length * samplesPerEpoch,
    },
    testAccuracy: Math.round(result.accuracy * 1e4) / 1e4,
    testLoss: Math.round(result.loss * 1e4) / 1e4,
    testPictures: result.count,
    valAccuracyPerEpoch: history.valAccuracy.map((a) => Math.round(a * 1e4) / 1e4),
    trainAccuracyPerEpoch: history.accuracy.map((a) => Math.round(a * 1e4) / 1e4),
    epochs: plannedEpochs,
    ...(budgetMinutes > 0 ? { budget: `${budgetMinutes} minutes of training: --epochs ${epochs} as the first plan, re-planned after each epoch (${plans.join('; ') || 'never changed'})` } : {}),
    imagesPerEpoch: images,
    batchSize: batch,
    workers,
    dataParallel: workers > 1
      ? `${workers} threads (nn.DataParallel): each batch cut into ${workers} contiguous shards, gradients averaged by shard size, optimiser on the main thread${bn ? '; BatchNorm batch statistics per shard, running statistics of the main thread\'s shard' : ''}`
      : 'none (one thread)',
    seed,
    optimizer: { name: 'AdamW', lr, weightDecay: wd, betas: [0.9, 0.999], ...(noDecayNorms ? { noWeightDecayOn: named.filter((_, i) => skipDecay.has(i)).map(([n]) => n) } : {}) },
    schedule: { name: budgetMinutes > 0 ? 'warm-up then cosine (per step), its end re-planned to the time budget' : 'warmupCosine (per step)', warmupSteps: warmup, startFactor, totalSteps, etaMin: 0 },
    ...(name === 'smallvgg' ? { dropout: `${dropout} while training (classifier.2)` } : {}),
    ...(auxiliary > 0
      ? {
        auxiliaryHead: name === 'vit'
          ? `while training: Linear(${vitShape?.hiddenDim}→10) \`auxiliary\` over the mean of the encoder's 64 patch tokens (after encoder.ln), loss = heads.head's cross-entropy (class token) + ${auxiliary} × its cross-entropy (weights/train-task.js vitAuxiliaryLoss); dropped at the end (not a torchvision key)`
          : `while training: Linear(128→10) \`auxiliary\` over the global average of the 4×4 features, loss = classifier's cross-entropy + ${auxiliary} × its cross-entropy (nn.auxiliaryLoss); dropped at the end`,
      }
      : {}),
    batchNorm: bn
      ? name === 'vit'
        ? 'trained with BatchNorm2d in every stem conv (ConvStemConfig\'s default norm_layer, momentum 0.1), then folded into the convs (nn.foldBatchNorm): the published stem has convs with biases and no norm (norm_layer=None)'
        : `trained with BatchNorm2d after every conv${name === 'smallvgg' ? ' and BatchNorm1d after classifier.0' : ''} (momentum 0.1), then folded into the layers before them (nn.foldBatchNorm): the published weights have none`
      : 'none',
    augmentation: 'none beyond the generator: every epoch composes fresh pictures (new items, backgrounds, tints, places, clutter)',
    curriculum: `first ${rampEpochs} of ${epochs} epochs ramp linearly (level e/${rampEpochs}) from random tints on a flat background, no clutter, no noise, items 40–50 px to the default composition; see weights/train-task.js`,
    epochsRun: history.epochs.length,
    stoppedEarly: history.stopped,
    trainSeconds: Math.round(trainSeconds),
    testSeconds: Math.round(testSeconds),
    machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', node: process.version, backend: T.getBackendInfo(), shared },
    gradlensCommit: commit,
    script: 'weights/train.js',
    command: `node weights/train.js ${process.argv.slice(2).join(' ')}`.trim(),
    date: new Date().toISOString(),
  };
  fs.writeFileSync(path.join(outDir, info.card), JSON.stringify(card, null, 2) + '\n');
  log(`wrote ${weights} and ${path.join(outDir, info.card)}`);
}
