import type { GraphMessage, NodeMessage } from './proto';

/** A node label for messages: its name or first output, and its op type. */
export function nodeLabel(node: NodeMessage): string {
  return `'${node.name || node.output[0] || '?'}' (${node.opType})`;
}

/**
 * Refuses a graph where a value has two producers (two nodes writing one name, or a node writing a graph
 * input or an initializer): ONNX graphs assign each name once, and replaying such a graph in order would
 * silently let the later write win.
 */
export function checkSingleAssignment(graph: GraphMessage): void {
  const producer = new Map<string, string>();
  for (const i of graph.input) producer.set(i.name, `the graph input '${i.name}'`);
  for (const t of graph.initializer) producer.set(t.name, `the initializer '${t.name}'`);
  for (const node of graph.node) {
    for (const name of node.output) {
      if (!name) continue;
      const before = producer.get(name);
      if (before !== undefined)
        throw new Error(`node ${nodeLabel(node)} writes the value '${name}', already given by ${before}; each value has one producer`);
      producer.set(name, `node ${nodeLabel(node)}`);
    }
  }
}
