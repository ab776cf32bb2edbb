import type { Tensor } from '@gradlens/tensor';
import { Module } from '@gradlens/nn';

/** Segments tf2onnx puts before a Keras model's layers: the function-call wrappers of a saved model. */
const TF_CALL_WRAPPERS = new Set(['StatefulPartitionedCall', 'PartitionedCall']);

/**
 * The module path a node belongs to, from the names torch.onnx writes: `/layer4/layer4.1/relu_1/Relu`
 * → `layer4.1.relu_1` (each scope segment is the module's full path or its local name; the last
 * segment names the op). Names without '/' are their own path; an empty name uses the node's first
 * output name.
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

/** A tf2onnx name's segments without the leading call wrappers (`StatefulPartitionedCall/…`). */
function unwrapped(name: string): string[] {
  const segs = name.split('/').filter((s) => s.length > 0);
  let i = 0;
  while (i < segs.length - 1 && TF_CALL_WRAPPERS.has(segs[i]!)) i++;
  return segs.slice(i);
}

/**
 * The module paths of a graph's nodes. torch.onnx's names (they start with '/') map as `modulePath`
 * says. tf2onnx names a Keras layer's ops `StatefulPartitionedCall/model/conv2d_1/BiasAdd`: when no
 * name starts with '/', the call wrappers and the Keras model's name (the first segment that every
 * such name shares) are dropped, so the path is the Keras layer name, `conv2d_1` (a nested Keras
 * model's layer: `resnet50.conv1_conv`). Ops tf2onnx adds (`Transpose__21`) are their own path.
 */
export function modulePaths(nodes: readonly { name: string; firstOutput: string }[]): string[] {
  const names = nodes.map((n) => n.name || n.firstOutput);
  const scoped = names.filter((n) => n.includes('/'));
  if (scoped.length === 0 || scoped.some((n) => n.startsWith('/'))) return names.map((n) => modulePath(n, ''));
  const split = scoped.map(unwrapped);
  const model = split[0]![0]!;
  // shared by all, and a scope under it somewhere (else the first segment is a layer, not the model)
  const shared = split.every((s) => s[0] === model) && split.some((s) => s.length >= 3);
  return names.map((n) => {
    if (!n.includes('/')) return modulePath(n, '');
    const segs = unwrapped(n);
    return modulePath(`/${(shared ? segs.slice(1) : segs).join('/')}`, '');
  });
}

/** Dots separate module levels; empty levels (`a..b`) are dropped. */
function sanitize(s: string): string {
  return s
    .split('.')
    .filter((p) => p.length > 0)
    .join('.');
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
