import { disposeIntermediate, type Tensor } from '@gradlens/tensor';
import { Module, releaseIntermediatesNow } from '../module';

/** Runs its children in order, as torch.nn.Sequential; children are named '0', '1', … unless named (an OrderedDict). */
export class Sequential extends Module {
  private readonly items: Module[] = [];

  constructor(...modules: Module[]) {
    super();
    for (const m of modules) this.append(m);
  }

  /** Adds a module at the end, named `name` or by its index; returns this. */
  append(module: Module, name?: string): this {
    const key = name ?? String(this.items.length);
    if (this.children().some(([n]) => n === key)) throw new Error(`Sequential.append: a child is already named '${key}'`);
    this.registerModule(key, module);
    this.items.push(module);
    return this;
  }

  /** The module at index i (negative counts from the end). */
  at(i: number): Module {
    const m = this.items[i < 0 ? i + this.items.length : i];
    if (!m) throw new Error(`Sequential.at: index ${i} is out of range for ${this.items.length} modules`);
    return m;
  }

  get length(): number {
    return this.items.length;
  }

  override forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.items) {
      const next = m.call(y);
      // Under releasingIntermediates: a consumed output nothing else holds is freed now, not at the scope's end.
      if (y !== x && next !== y && releaseIntermediatesNow()) disposeIntermediate(y);
      y = next;
    }
    return y;
  }
}
