import type { Tensor } from './tensor';

/**
 * Global state in one place: live-tensor count, `tidy` scopes, the module-path stack that tape nodes
 * carry, and whether gradients are being recorded.
 */
class Engine {
  liveTensors = 0;
  private scopes: Set<Tensor>[] = [];
  private modulePath: string[] = [];
  noGradDepth = 0;

  track(t: Tensor): void {
    this.liveTensors++;
    this.scopes[this.scopes.length - 1]?.add(t);
  }

  untrack(t: Tensor): void {
    this.liveTensors--;
    for (const s of this.scopes) s.delete(t);
  }

  /** Frees `t` now, or marks it to be freed by the last tape holding it. */
  release(t: Tensor): void {
    if (t.isDisposed) return;
    if (t.tapeHolds > 0) t.orphaned = true;
    else t.free();
  }

  /** Whether the innermost scope made `t` (and would free it at its end). */
  innermostScopeHolds(t: Tensor): boolean {
    return this.scopes[this.scopes.length - 1]?.has(t) === true;
  }

  /** Stops tracking `t` in the current scopes, so no scope frees it. */
  keep<T extends Tensor>(t: T): T {
    for (const s of this.scopes) s.delete(t);
    return t;
  }

  beginScope(): void {
    this.scopes.push(new Set());
  }

  /**
   * Ends the innermost scope, freeing what it made except `survivors`, which move to the outer scope;
   * returns the survivors the scope made (the others existed before it began).
   */
  endScope(survivors: ReadonlySet<Tensor>): Set<Tensor> {
    const scope = this.scopes.pop();
    if (!scope) throw new Error('endScope without beginScope');
    const outer = this.scopes[this.scopes.length - 1];
    const made = new Set<Tensor>();
    for (const t of scope) {
      if (survivors.has(t)) {
        outer?.add(t);
        made.add(t);
      } else this.release(t);
    }
    return made;
  }

  get scopePath(): string {
    return this.modulePath.join('.');
  }

  pushPath(name: string): void {
    this.modulePath.push(name);
  }

  popPath(): void {
    this.modulePath.pop();
  }
}

export const engine = new Engine();
