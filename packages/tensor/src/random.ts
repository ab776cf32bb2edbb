/**
 * A small seedable generator (xoshiro128**): the same seed gives the same numbers on every platform,
 * which makes noise in SmoothGrad, dropout masks and initialisations reproducible.
 */
/** A generator's state: its four words and the spare normal value. */
export interface GeneratorState {
  readonly words: readonly number[];
  readonly spare: number | null;
}

export class Generator {
  private s = new Uint32Array(4);
  private spare: number | null = null;

  constructor(seed = 0x9e3779b9) {
    this.seed(seed);
  }

  /** Resets the state from a seed (splitmix32 expands it into the four state words). */
  seed(seed: number): void {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    this.spare = null;
  }

  /** The state, to come back to with `restoreState` (a replayed computation draws the same numbers). */
  saveState(): GeneratorState {
    return { words: Array.from(this.s), spare: this.spare };
  }

  /** Goes back to a state `saveState` returned. */
  restoreState(state: GeneratorState): void {
    this.s.set(state.words);
    this.spare = state.spare;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** A uniform number in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A standard normal number (Box–Muller, the second value kept for the next call). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The generator used when a call is given none; reseed it with `manualSeed`. */
export const defaultGenerator = new Generator();

/** Reseeds the default generator, as torch.manual_seed does. */
export function manualSeed(seed: number): void {
  defaultGenerator.seed(seed);
}
