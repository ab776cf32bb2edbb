import type { GraphMessage, NodeMessage } from './proto';

/** A node label for messages: its name or first output, and its op type. */
export function nodeLabel(node: NodeMessage): string {
  return `'${node.name || node.output[0] || '?'}' (${node.opType})`;
}

/**
 * Refuses a graph where a value has two producers (two nodes writing one name, a node writing a graph input
 * or an initializer, two initializers or two inputs of one name): ONNX graphs assign each name once, and
 * replaying such a graph in order would silently let the later write win.
 */
export function checkSingleAssignment(graph: GraphMessage): void {
  const producer = new Map<string, string>();
  const once = (names: string[], what: string) =>
    names.forEach((name, i) => {
      if (names.indexOf(name) !== i) throw new Error(`the graph has two ${what}s named '${name}'`);
    });
  // An initializer may share its name with a graph input (keep_initializers_as_inputs), not with another initializer.
  once(
    graph.input.map((i) => i.name),
    'input',
  );
  once(
    graph.initializer.map((t) => t.name),
    'initializer',
  );
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
