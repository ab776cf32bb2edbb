import { Tensor } from '@gradlens/tensor';
import { Module } from '@gradlens/nn';

/**
 * The module path a node belongs to, from the names torch.onnx writes: `/layer4/layer4.1/relu_1/Relu`
 * → `layer4.1.relu_1` (each scope segment is the module's full path or its local name; the last
 * segment names the op). Names without '/' (other exporters) are their own path; an empty name uses
 * the node's first output name.
 */
export function modulePath(nodeName: string, firstOutput: string): string {
  const name = nodeName || firstOutput;
  if (!name.includes('/')) return sanitize(name);
  const segments = name.split('/').filter((s) => s.length > 0);
  segments.pop();
  let path = '';
  for (const seg of segments) {
    const s = sanitize(seg);
    path = path && s.startsWith(`${path}.`) ? s : path ? `${path}.${s}` : s;
  }
  return path;
}

/** Dots separate module levels; empty levels (`a..b`) are dropped. */
function sanitize(s: string): string {
  return s.split('.').filter((p) => p.length > 0).join('.');
}

/**
 * A named group of graph nodes (a torch module such as `layer4.1`). It runs no ops itself: the
 * model calls it with the group's last output so that `layers()` and module-call observers see
 * its output shape, as for the modules of the built-in models.
 */
export class OnnxScope extends Module {
  /** Identity: the group's ops already ran under this path. */
  forward(x: Tensor): Tensor {
    return x;
  }

  /** Registers (or returns) the child scope `name`. */
  child(name: string): OnnxScope {
    const found = this.children().find(([n]) => n === name);
    if (found) return found[1] as OnnxScope;
    return this.registerModule(name, new OnnxScope());
  }
}
