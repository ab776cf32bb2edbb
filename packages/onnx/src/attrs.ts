import type { AttributeMessage, GraphMessage, NodeMessage } from './proto';
import { toNumber } from './proto';
import type { TensorSource } from './initializers';
import { readTensorProto } from './initializers';
import type { Value } from './values';

/** A string attribute's bytes as text (TextDecoder: Node's Buffer is absent in browsers). */
const utf8 = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** Typed access to a node's attributes, with ONNX's defaults given by the caller. */
export class Attrs {
  private readonly map = new Map<string, AttributeMessage>();

  constructor(
    private readonly node: NodeMessage,
    private readonly source: TensorSource,
  ) {
    for (const a of node.attribute) this.map.set(a.name, a);
  }

  has(name: string): boolean {
    return this.map.has(name);
  }

  int(name: string, fallback: number): number {
    const a = this.map.get(name);
    return a ? toNumber(a.i) : fallback;
  }

  float(name: string, fallback: number): number {
    const a = this.map.get(name);
    return a ? (a.f ?? 0) : fallback;
  }

  ints(name: string): number[] | null {
    const a = this.map.get(name);
    return a ? a.ints.map((v) => toNumber(v)) : null;
  }

  floats(name: string): number[] | null {
    const a = this.map.get(name);
    return a ? [...a.floats] : null;
  }

  strings(name: string): string[] | null {
    const a = this.map.get(name);
    return a ? (a.strings ?? []).map(utf8) : null;
  }

  string(name: string, fallback: string): string {
    const a = this.map.get(name);
    return a?.s ? utf8(a.s) : fallback;
  }

  tensor(name: string): Value | null {
    const a = this.map.get(name);
    return a?.t ? readTensorProto(a.t, this.source) : null;
  }

  /** A graph attribute (If's branches). */
  graph(name: string): GraphMessage | null {
    return this.map.get(name)?.g ?? null;
  }
}
