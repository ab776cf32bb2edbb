/**
 * WebGPU mode under `awaitReads`: a run that replays after a pending read launches, up to where the previous
 * run stopped, the same kernels on the same inputs again. The memo hands back the previous run's result of
 * each such launch instead of running it (a second reference to the same device buffer), so a method with k
 * pending reads runs its kernels about once instead of up to k + 1 times. Launches are matched by position in
 * the run and by what they are (kernel, grid, constants, and each argument: a number, a host array's length,
 * a tensor by the order it was made in the run or, for one made before the replay, by identity); the first
 * launch that differs ends the reuse for the rest of that run.
 */
import { observeReplays } from './replay';
import type { DeviceValue, Handle } from './storage';
import { release, retain } from './storage';

interface Launched {
  key: string;
  /** the memo's own reference to the result */
  value: Promise<Handle>;
}

/** Previous-run results of a launcher's kernels, for the next run of the same replay. */
export class LaunchMemo {
  private previous: Launched[] = [];
  private current: Launched[] = [];
  private index = 0;
  private diverged = false;
  private active = false;
  /** Launches run on the device, and launches answered from the previous run, since the last reset. */
  launched = 0;
  reused = 0;

  private readonly unobserve: () => void;

  constructor() {
    this.unobserve = observeReplays({
      runStarted: (k) => {
        if (k === 1) this.drop(this.previous.concat(this.current), []);
        else this.drop(this.previous, this.current);
        this.previous = k === 1 ? [] : this.current;
        this.current = [];
        this.index = 0;
        this.diverged = false;
        this.active = true;
      },
      replayEnded: () => {
        this.drop(this.previous.concat(this.current), []);
        this.previous = [];
        this.current = [];
        this.active = false;
      },
    });
  }

  /** The result of launch `key`: the previous run's where this launch repeats it, else `make()`'s. */
  launch(key: string, make: () => DeviceValue): DeviceValue {
    if (!this.active) {
      this.launched++;
      return make();
    }
    const i = this.index++;
    const before = this.diverged ? undefined : this.previous[i];
    if (before && before.key === key) {
      this.current[i] = before;
      this.reused++;
      return retain(before.value);
    }
    this.diverged = true;
    this.launched++;
    const value = make();
    // a result that is there already (not WebGPU's) needs no memo: nothing replays for it
    if (value instanceof Promise) this.current[i] = { key, value: retain(value) as Promise<Handle> };
    return value;
  }

  /** Stops observing replays (the launcher is destroyed). */
  destroy(): void {
    this.unobserve();
  }

  /** Releases the memo's references in `records` that `kept` does not carry on. */
  private drop(records: readonly Launched[], kept: readonly Launched[]): void {
    const keep = new Set(kept);
    for (const r of records) {
      if (!r || keep.has(r)) continue;
      keep.add(r);
      r.value.then(release, () => undefined);
    }
  }
}
