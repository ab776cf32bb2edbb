import type { AttributeMessage, FunctionMessage, NodeMessage } from './proto';

/** How deep calls of model-local functions may nest (a function that calls itself would never end). */
const MAX_DEPTH = 64;
/** How many nodes inlining may make: functions calling others twice at each of a few levels multiply. */
const MAX_NODES = 1_000_000;

/** The key of a function, or of the op a node calls. */
const key = (domain: string | null | undefined, name: string) => `${domain ?? ''}:${name}`;

/** A module path segment for a call node: the last part of its name, or its op type and index when unnamed. */
function segment(node: NodeMessage, i: number): string {
  const name = (node.name ?? '').split('/').filter(Boolean).pop();
  return name ? name.replace(/\./g, '_') : `${node.opType}_${i}`;
}

/**
 * The graph's nodes with every call of a model-local function (torch.onnx's export_modules_as_functions, the
 * dynamo exporter) replaced by the function's nodes, recursively: formal inputs and outputs renamed to the
 * call's values, inner values given names unique to the call, attributes that refer to the caller's
 * (ref_attr_name) resolved. Inlined nodes are named `/<call>/<inner call>/…/<op>`, so each call becomes a
 * module path. The one call of a graph that wraps the whole model adds no level.
 */
export function inlineFunctions(nodes: readonly NodeMessage[], functions: readonly FunctionMessage[]): NodeMessage[] {
  if (functions.length === 0) return [...nodes];
  const byKey = new Map(functions.map((f) => [key(f.domain, f.name), f]));
  // Count first (each function once), so a hostile nesting is refused before anything is built.
  const sizes = new Map<FunctionMessage, number>();
  const count = (list: readonly NodeMessage[], depth: number): number =>
    list.reduce((total, node) => {
      const fn = byKey.get(key(node.domain, node.opType));
      if (!fn) return total + 1;
      if (depth >= MAX_DEPTH)
        throw new Error(`model-local function '${fn.name}' nests more than ${MAX_DEPTH} calls deep (does it call itself?)`);
      let n = sizes.get(fn);
      if (n === undefined) sizes.set(fn, (n = count(fn.node, depth + 1)));
      return total + n;
    }, 0);
  const total = count(nodes, 0);
  if (total > MAX_NODES) throw new Error(`inlining the model-local functions makes ${total} nodes, more than ${MAX_NODES}`);
  let calls = 0;
  // torch.onnx wraps the whole model in one call (beside Identity nodes for shared weights): it adds no level.
  const wrapper = nodes.filter((n) => byKey.has(key(n.domain, n.opType))).length === 1;
  const expand = (list: readonly NodeMessage[], prefix: string, depth: number): NodeMessage[] =>
    list.flatMap((node, i) => {
      const fn = byKey.get(key(node.domain, node.opType));
      // An op inside a function belongs to the call's scope.
      if (!fn) return [prefix ? { ...node, name: `${prefix}/${node.opType}` } : node];
      const path = wrapper && depth === 0 ? prefix : `${prefix}/${segment(node, i)}`;
      return expand(callBody(fn, node, `${fn.name}#${calls++}`), path, depth + 1);
    });
  return expand(nodes, '', 0);
}

/** The nodes of `fn` for one call: values renamed into the caller's (inner ones under `tag`), attributes resolved from its. */
function callBody(fn: FunctionMessage, call: NodeMessage, tag: string): NodeMessage[] {
  const rename = new Map<string, string>();
  fn.input.forEach((name, i) => rename.set(name, call.input[i] ?? ''));
  fn.output.forEach((name, i) => rename.set(name, call.output[i] ?? ''));
  const local = (name: string) => (name === '' ? '' : (rename.get(name) ?? `${tag}::${name}`));
  const given = new Map(call.attribute.map((a) => [a.name, a]));
  return fn.node.map((node) => {
    if (node.attribute.some((a) => a.g))
      throw new Error(`model-local function '${fn.name}' has a node with a subgraph (${node.opType}), which gradlens does not inline`);
    const attribute = node.attribute.flatMap((a): AttributeMessage[] => {
      if (!a.refAttrName) return [a];
      const from = given.get(a.refAttrName);
      return from ? [{ ...from, name: a.name }] : [];
    });
    return { ...node, input: node.input.map(local), output: node.output.map(local), attribute };
  });
}
