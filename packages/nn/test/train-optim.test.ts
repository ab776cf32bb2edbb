import * as fs from 'fs';
import * as path from 'path';
import type { Tensor } from '@gradlens/tensor';
import { tensor } from '@gradlens/tensor';
import type { Optimizer } from '../src/train';
import { Adam, AdamW, CosineAnnealingLR, LinearLR, SequentialLR, SGD, StepLR, warmupCosine } from '../src/train';

/** Fixtures written by scripts/make-optim-fixtures.py with torch 1.13 (CPU, foreach=False). */
interface OptimCase {
  name: string;
  optimizer: 'SGD' | 'Adam' | 'AdamW';
  options: Record<string, number | boolean | number[]>;
  shapes: number[][];
  initial: number[][];
  grads: number[][][];
  after: number[][][];
}
interface ScheduleCase {
  name: string;
  lr: number;
  lrs: number[];
}

const dir = path.join(__dirname, 'fixtures', 'train');
const optimCases = (JSON.parse(fs.readFileSync(path.join(dir, 'optim.json'), 'utf8')) as { cases: OptimCase[] }).cases;
const scheduleCases = (JSON.parse(fs.readFileSync(path.join(dir, 'schedules.json'), 'utf8')) as { cases: ScheduleCase[] }).cases;

function makeOptimizer(c: OptimCase, params: Tensor[]): Optimizer {
  const o = c.options;
  const num = (k: string): number | undefined => (typeof o[k] === 'number' ? (o[k] as number) : undefined);
  const bool = (k: string): boolean | undefined => (typeof o[k] === 'boolean' ? (o[k] as boolean) : undefined);
  const betas = Array.isArray(o.betas) ? ([o.betas[0], o.betas[1]] as [number, number]) : undefined;
  if (c.optimizer === 'SGD') {
    return new SGD(params, {
      lr: num('lr')!,
      momentum: num('momentum'),
      dampening: num('dampening'),
      weightDecay: num('weight_decay'),
      nesterov: bool('nesterov'),
      maximize: bool('maximize'),
    });
  }
  const opts = { lr: num('lr'), betas, eps: num('eps'), weightDecay: num('weight_decay'), amsgrad: bool('amsgrad') };
  return c.optimizer === 'Adam' ? new Adam(params, opts) : new AdamW(params, opts);
}

/** Largest |ours − torch| / max(|torch|, 1e-3) over every element. */
function maxRelError(ours: ArrayLike<number>, torch: readonly number[]): number {
  let worst = 0;
  for (let i = 0; i < torch.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - torch[i]!) / Math.max(Math.abs(torch[i]!), 1e-3));
  return worst;
}

describe('optimisers match torch 1.13 step for step', () => {
  test.each(optimCases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const params = c.initial.map((v, i) => tensor(Float32Array.from(v), c.shapes[i]));
    const opt = makeOptimizer(c, params);
    let worst = 0;
    c.grads.forEach((gs, step) => {
      const grads = gs.map((v, i) => tensor(Float32Array.from(v), c.shapes[i]));
      opt.step(grads);
      grads.forEach((g) => g.dispose());
      params.forEach((p, i) => (worst = Math.max(worst, maxRelError(p.values() as Float32Array, c.after[step]![i]!))));
    });
    expect(worst).toBeLessThanOrEqual(1e-6);
    params.forEach((p) => p.dispose());
  });

  test('state dict round trip continues the same trajectory', () => {
    const c = optimCases.find((k) => k.name === 'adam-amsgrad')!;
    const a = c.initial.map((v, i) => tensor(Float32Array.from(v), c.shapes[i]));
    const optA = makeOptimizer(c, a);
    const grads = c.grads.map((gs) => gs.map((v, i) => tensor(Float32Array.from(v), c.shapes[i])));
    optA.step(grads[0]!);
    optA.step(grads[1]!);
    const b = a.map((p) => tensor(p.dataSync() as Float32Array, p.shape));
    const optB = makeOptimizer(c, b);
    optB.loadStateDict(optA.stateDict());
    for (const g of grads.slice(2)) {
      optA.step(g);
      optB.step(g);
    }
    a.forEach((p, i) => expect(Array.from(b[i]!.values())).toEqual(Array.from(p.values())));
    expect(optB.steps).toBe(c.grads.length);
    [...a, ...b, ...grads.flat()].forEach((t) => t.dispose());
  });

  test('refuses wrong gradients and bad options with actionable messages', () => {
    const p = tensor([1, 2, 3]);
    const opt = new SGD([p], { lr: 0.1 });
    expect(() => opt.step([])).toThrow(/1 parameters/);
    const g = tensor([1, 2]);
    expect(() => opt.step([g])).toThrow(/gradient 0 has shape \[2\], its parameter \[3\]/);
    expect(() => new SGD([p], { lr: 0.1, nesterov: true })).toThrow(/Nesterov/);
    expect(() => new Adam([p], { betas: [1, 0.9] })).toThrow(/betas\[0\]/);
    expect(() => new SGD([p, p], { lr: 1 })).toThrow(/repeats/);
    p.dispose();
    g.dispose();
  });
});

/** AdamW with its decay and the gradient's sign as separate rounded passes before Adam's update (how it was written before they were fused into one loop). */
class OpByOpAdamW extends AdamW {
  protected override update(i: number, p: Float32Array | Float64Array, g: ArrayLike<number>, r: (x: number) => number): void {
    const decay = r(1 - this.lr * this.weightDecay);
    for (let j = 0; j < p.length; j++) p[j] = r(p[j]! * decay);
    const grad = new Float64Array(p.length);
    for (let j = 0; j < p.length; j++) grad[j] = r(this.maximize ? -g[j]! : g[j]!);
    this.adamUpdate(i, p, grad, r);
  }
}

describe('AdamW on float32 parameters', () => {
  test.each([
    ['default', {}],
    ['amsgrad', { amsgrad: true }],
    ['maximize', { maximize: true }],
    ['large weight decay', { weightDecay: 0.3, lr: 0.05 }],
  ] as const)('the one-pass update equals separate passes bit for bit (%s)', (_name, options) => {
    let seed = 7;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    const shape = [37, 11];
    const init = Float32Array.from({ length: 37 * 11 }, () => rand() * 3);
    const fused = tensor(init.slice(), shape),
      reference = tensor(init.slice(), shape);
    const a = new AdamW([fused], { lr: 0.01, ...options }),
      b = new OpByOpAdamW([reference], { lr: 0.01, ...options });
    for (let step = 0; step < 6; step++) {
      // Gradients across magnitudes, with exact zeros and a sign flip between steps.
      const g = tensor(
        Float32Array.from({ length: init.length }, (_, j) => (j % 13 === 0 ? 0 : rand() * 10 ** ((j % 7) - 3))),
        shape,
      );
      a.step([g]);
      b.step([g]);
      g.dispose();
      expect(Array.from(fused.values())).toEqual(Array.from(reference.values()));
    }
    expect(Array.from(a.stateDict().buffers['0.exp_avg_sq']!.data)).toEqual(Array.from(b.stateDict().buffers['0.exp_avg_sq']!.data));
  });
});

describe('learning-rate schedules match torch 1.13 epoch for epoch', () => {
  const make = {
    'step-lr': (o: { lr: number }) => new StepLR(o, { stepSize: 3, gamma: 0.5 }),
    cosine: (o: { lr: number }) => new CosineAnnealingLR(o, { tMax: 10 }),
    'cosine-eta-min-restart': (o: { lr: number }) => new CosineAnnealingLR(o, { tMax: 4, etaMin: 0.01 }),
    linear: (o: { lr: number }) => new LinearLR(o, { startFactor: 0.1, endFactor: 1, totalIters: 4 }),
    'warmup-cosine': (o: { lr: number }) => warmupCosine(o, { warmupEpochs: 3, epochs: 10, startFactor: 0.1, etaMin: 0.001 }),
  } as const;

  test.each(scheduleCases.map((c) => [c.name, c] as const))('%s', (name, c) => {
    const p = tensor([0]);
    const opt = new SGD([p], { lr: c.lr });
    const sched = make[name as keyof typeof make](opt);
    const lrs = [opt.lr];
    for (let e = 1; e < c.lrs.length; e++) {
      sched.step();
      lrs.push(opt.lr);
    }
    lrs.forEach((lr, e) => expect(Math.abs(lr - c.lrs[e]!)).toBeLessThanOrEqual(1e-12 * Math.max(c.lrs[e]!, 1e-3)));
    if (sched instanceof SequentialLR) expect(sched.lastEpoch).toBe(c.lrs.length - 1);
    p.dispose();
  });
});
