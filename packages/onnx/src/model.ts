import * as t from '@gradlens/tensor';
import { cast, noGrad, reshape, Tensor, tidy, withScope, zeros } from '@gradlens/tensor';
import { layers, Module } from '@gradlens/nn';
import { Attrs } from './attrs';
import { classNamesFromMetadata } from './class-names';
import { inlineFunctions } from './functions';
import { checkSingleAssignment, nodeLabel } from './graph-checks';
import { fileAccess } from './files';
import type { TensorSource } from './initializers';
import { readTensorProto } from './initializers';
import { runIf, runLoop, runScan, runSequenceMap } from './control-flow';
import type { SubgraphRunner } from './control-flow';
import { checkElements } from './op-context';
import { CONTROL_FLOW_OPS, OPSET_RANGE, opImpl } from './op-table';
import type { GraphMessage, ModelMessage, NodeMessage } from './proto';
import { decodeModel, toNumber } from './proto';
import { oneLine } from './message';
import { modulePaths, OnnxScope } from './scopes';
import type { PictureLayout } from './picture-input';
import { pictureLayout, pictureShape, toGraphLayout } from './picture-input';
import type { GraphValue, Value } from './values';
import { Const, constToTensor, describeValue, isPlainValue } from './values';

export interface LoadOnnxOptions {
  /**
   * The input shape [N, C, H, W …] to resolve dynamic dims with (default: the model's own, batch 1 for a
   * symbolic batch dim), or a function from the declared dims (numbers, or the names of dynamic dims) to it.
   */
  inputShape?: readonly number[] | ((declared: readonly (number | string)[]) => readonly number[]);
  /** Run one forward pass on zeros at load time, so shape errors show at load (default true). */
  check?: boolean;
  /** Load a graph with several inputs or outputs to run with `runGraph` (no input shape resolved, no check). */
  graphOnly?: boolean;
  /**
   * The graph output `call` gives, by name or index, for a graph with several (a detection model's `scores`), or a
   * function of the output names choosing one (undefined: none); the others of the last call are in `lastOutputs`.
   * Default: the graph's only output.
   */
  output?: string | number | ((outputNames: readonly string[]) => string | number | undefined);
  /**
   * The graph takes one item without a batch dim (torchvision's detection exports take [3, H, W]): `call` takes a
   * batch [N, …], runs the graph on each item and stacks the outputs (rank-1 outputs of different lengths, such as
   * a detection model's scores, padded with zeros to the longest), so the explain methods see a model like any other. `inputShape` (the option) is the graph's own; the model's has the 1 in front.
   * A function decides from the input's declared dims and the output names.
   */
  unbatched?: boolean | ((declared: readonly (number | string)[], outputNames: readonly string[]) => boolean);
  /**
   * The model takes RGB pictures [N, 3, H, W] whatever the graph's picture layout (pictureLayout): a grayscale
   * graph is fed their luma (ITU-R 601-2, as PIL's convert('L')), a channels-last one (NHWC) their transpose, both on
   * the tape, so every method sees a picture model and its maps lie on the picture. `inputShape` (the option) stays the
   * graph's own; the model's is the picture's. A graph input that is not a 1- or 3-channel picture is refused.
   */
  pictureInput?: boolean;
  /**
   * The graph takes a fixed batch of one (Ultralytics' YOLO exports reshape to [1, …]): `call` runs a batch item by
   * item and concatenates the outputs. A function decides from the file's metadata_props.
   */
  itemwise?: boolean | ((metadata: Readonly<Record<string, string>>) => boolean);
}

/** LoadOnnxOptions with `output` and `unbatched` decided (their functions called on the graph). */
type ResolvedLoadOptions = Omit<LoadOnnxOptions, 'output' | 'unbatched'> & { output?: string | number; unbatched: boolean };

/** A graph output of the last `call`, as numbers (kept for a caller that draws detections' boxes, say). */
export interface OutputValues {
  shape: number[];
  values: number[];
}

interface PlannedNode {
  node: NodeMessage;
  /** Module path ('' for the model itself). */
  path: string;
  attrs: Attrs;
  /** Scopes whose last node this is, innermost first: called after it so observers see their outputs. */
  closes: OnnxScope[];
}

/**
 * An ONNX graph replayed on gradlens ops: a Module whose forward interprets the nodes in order, each
 * under its torch module path, so tapes, rule overrides, `tape.activation('layer4')` and `layers()`
 * work as on the built-in models. Shape arithmetic is folded on constants as the graph runs.
 */
export class OnnxModel extends Module {
  /** The graph input's name. */
  readonly inputName: string;
  /** The resolved input shape (dynamic dims filled in). */
  readonly inputShape: readonly number[];
  /** The float type the graph input declares (DOUBLE: float64; FLOAT, FLOAT16, BFLOAT16: float32); `call` casts to it. */
  readonly inputDtype: 'float32' | 'float64';
  /** The input shape the model declares: numbers, or the names of dynamic dims ('?' when unnamed). */
  readonly declaredInputShape: readonly (number | string)[];
  /** The (first) graph output's name. */
  readonly outputName: string;
  /** All graph inputs that are not initializers. */
  readonly inputNames: readonly string[];
  /** All graph outputs. */
  readonly outputNames: readonly string[];
  /** The default-domain opset. */
  readonly opset: number;
  /** The graph output `call` gives (the `output` option; 0: the first). */
  readonly callOutput: number;
  /** Whether the graph takes one item without a batch dim (the `unbatched` option). */
  readonly unbatched: boolean;
  /** Whether `call` runs a batch item by item on a graph of fixed batch one (the `itemwise` option). */
  readonly itemwise: boolean;
  /** With the `pictureInput` option, the graph's picture layout that `call` adapts RGB pictures to; else null. */
  readonly pictureLayout: PictureLayout | null;
  /** The input shape the graph itself takes (with the 1 in front when unbatched); `inputShape` unless pictureInput adapts it. */
  readonly graphInputShape: readonly number[];
  /** Every graph output of the last `call`, by name, when the `output` option chose one of several; else empty. */
  lastOutputs: ReadonlyMap<string, OutputValues> = new Map();
  /** metadata_props of the model. */
  readonly metadata: Readonly<Record<string, string>>;
  private readonly plan: PlannedNode[];
  private readonly constants = new Map<string, Value>();
  private readonly attrsOfBranchNodes = new WeakMap<NodeMessage, Attrs>();

  constructor(
    model: ModelMessage,
    graph: GraphMessage,
    private readonly source: TensorSource,
    options: ResolvedLoadOptions,
    opset: number,
  ) {
    super();
    this.opset = opset;
    this.metadata = Object.fromEntries(model.metadataProps.map((e) => [e.key, e.value]));
    const initNames = new Set(graph.initializer.map((t) => t.name));
    const inputs = graph.input.filter((i) => !initNames.has(i.name));
    const input = inputs[0];
    if (!input) throw new Error('the graph has no input');
    this.inputNames = inputs.map((i) => i.name);
    this.outputNames = graph.output.map((o) => o.name);
    this.inputName = input.name;
    this.outputName = this.outputNames[0] ?? '';
    this.declaredInputShape = declaredDims(input);
    this.inputDtype = input.type?.tensorType?.elemType === DOUBLE ? 'float64' : 'float32';
    this.unbatched = options.unbatched;
    this.itemwise = typeof options.itemwise === 'function' ? options.itemwise(this.metadata) : options.itemwise === true;
    const own = options.graphOnly ? [] : resolveInputShape(input, options.inputShape);
    this.graphInputShape = this.unbatched && !options.graphOnly ? [1, ...own] : own;
    this.pictureLayout =
      options.pictureInput && !options.graphOnly ? pictureLayoutOf(input.name, this.declaredInputShape, this.unbatched) : null;
    this.inputShape = this.pictureLayout ? pictureShape(this.graphInputShape, this.pictureLayout) : this.graphInputShape;
    const chosen = options.output;
    this.callOutput = chosen === undefined ? 0 : typeof chosen === 'number' ? chosen : this.outputNames.indexOf(chosen);
    if (!Number.isInteger(this.callOutput) || this.callOutput < 0 || this.callOutput >= this.outputNames.length)
      throw new Error(`the graph has no output ${JSON.stringify(chosen)}; its outputs: ${this.outputNames.join(', ')}`);
    for (const t of graph.initializer) {
      const v = readTensorProto(t, source);
      this.constants.set(t.name, v);
      if (v instanceof Tensor) this.registerParameter(t.name, v);
    }
    const paths = modulePaths(graph.node.map((node) => ({ name: node.name ?? '', firstOutput: node.output[0] ?? '' })));
    this.plan = graph.node.map((node, i) => ({ node, path: paths[i]!, attrs: new Attrs(node, source), closes: [] }));
    const lastIndex = new Map<string, number>();
    this.plan.forEach((p, i) => {
      if (!p.path) return;
      const parts = p.path.split('.');
      for (let k = 1; k <= parts.length; k++) lastIndex.set(parts.slice(0, k).join('.'), i);
    });
    // Scopes register in graph order, so layers() lists them as the model runs them.
    for (const p of this.plan) if (p.path) this.scopeAt(p.path);
    // Deeper scopes first, so a block's output is seen after its last layer's.
    const byDepth = [...lastIndex].sort((a, b) => b[0].split('.').length - a[0].split('.').length);
    for (const [scope, i] of byDepth) this.plan[i]!.closes.push(this.scopeAt(scope));
  }

  /** The scope module at a dotted path, creating the levels it needs. */
  private scopeAt(pathName: string): OnnxScope {
    const [first, ...rest] = pathName.split('.');
    const top = this.children().find(([n]) => n === first)?.[1] as OnnxScope | undefined;
    let scope = top ?? this.registerModule(first!, new OnnxScope());
    for (const part of rest) scope = scope.child(part);
    return scope;
  }

  /** Runs the graph on `x` (the one graph input) and returns its first output. */
  forward(picture: Tensor): Tensor {
    if (this.inputNames.length !== 1)
      throw new Error(`the ONNX graph has ${this.inputNames.length} inputs (${this.inputNames.join(', ')}); use runGraph`);
    const x = this.pictureLayout ? toGraphLayout(picture, this.pictureLayout) : picture;
    // A float64 graph (model.double()) fed float32, or the other way round: its weights set the type.
    const typed = x.dtype !== this.inputDtype && (x.dtype === 'float32' || x.dtype === 'float64') ? cast(x, this.inputDtype) : x;
    if (this.itemwise && typed.shape[0]! > 1)
      return t.cat(
        Array.from({ length: typed.shape[0]! }, (_, i) => this.runOnce(t.slice(typed, 0, i, i + 1))),
        0,
      );
    if (!this.unbatched) return this.runOnce(typed);
    if (typed.rank !== this.declaredInputShape.length + 1 || typed.shape[0]! < 1)
      throw new Error(
        `the ONNX graph takes one item [${this.declaredInputShape.join(', ')}] (unbatched): give a batch [N, ${this.declaredInputShape.join(', ')}], got [${x.shape.join(', ')}]`,
      );
    // One run per item, each given the batch dim back; outputs of one rank whose length differs per item (a detection
    // model's scores) are padded with zeros to the longest, so a batch of pictures stacks.
    const items = Array.from({ length: typed.shape[0]! }, (_, i) =>
      this.runOnce(reshape(t.slice(typed, 0, i, i + 1), typed.shape.slice(1))),
    );
    if (items.length === 1) return reshape(items[0]!, [1, ...items[0]!.shape]);
    const rank = items[0]!.rank;
    if (items.some((y) => y.rank !== rank || (rank !== 1 && y.shape.join() !== items[0]!.shape.join())))
      throw new Error(
        `the ONNX graph's output '${this.outputNames[this.callOutput]}' has shapes ${items.map((y) => `[${y.shape.join(', ')}]`).join(', ')} for the items of one batch: they do not stack`,
      );
    const longest = Math.max(...items.map((y) => y.shape[0] ?? 1));
    const padded = items.map((y) => {
      const full = rank === 1 && y.shape[0]! < longest ? t.pad(y, [0, longest - y.shape[0]!]) : y;
      return reshape(full, [1, ...full.shape]);
    });
    return t.cat(padded, 0);
  }

  /** One graph run on `x` as the graph takes it: its chosen output, the others kept in lastOutputs. */
  private runOnce(x: Tensor): Tensor {
    const outs = this.runGraph(new Map([[this.inputName, x]]));
    if (this.outputNames.length > 1)
      this.lastOutputs = new Map(
        outs.map((v, i) => [
          this.outputNames[i]!,
          { shape: [...v.shape], values: v instanceof Const ? v.values() : Array.from(v.values()) },
        ]),
      );
    const picked = outs[this.callOutput]!;
    return picked instanceof Const ? constToTensor(picked) : picked;
  }

  /** Runs the graph on named inputs and returns every graph output (constants stay constants). */
  runGraph(feeds: ReadonlyMap<string, GraphValue>): Value[] {
    return this.runGraphValues(feeds).map((v, i) => {
      if (!isPlainValue(v))
        throw new Error(`the graph output '${this.outputNames[i]}' is ${describeValue(v)}, not a tensor: use runGraphValues`);
      return v;
    });
  }

  /**
   * Runs the graph on named inputs (tensors, constants, or OnnxSequence and OnnxOptional values) and returns every
   * graph output as it is: a sequence output is an OnnxSequence of its elements, an optional one an OnnxOptional.
   */
  runGraphValues(feeds: ReadonlyMap<string, GraphValue>): GraphValue[] {
    const env = new Map<string, GraphValue>(this.constants);
    for (const [k, v] of feeds) env.set(k, v);
    const fed = feeds.get(this.inputName);
    const x = { shape: fed && isPlainValue(fed) ? fed.shape : [] };
    for (const p of this.plan) {
      const run = () => this.runNode(p.node, p.attrs, env);
      let outs: GraphValue[];
      try {
        outs = p.path ? withScope(p.path, run) : run();
      } catch (e) {
        throw new Error(oneLine(`ONNX node ${nodeLabel(p.node)} at input ${fmtShape(x.shape)}: ${(e as Error).message}`));
      }
      // Scopes see their last node's output, and an output transform on one (layer IG, layer ablation: Captum's
      // hooks) replaces it for the nodes after.
      let last = outs[0];
      for (const scope of p.closes) {
        if (!(last instanceof Tensor)) break;
        const seen = scope.call(last);
        if (seen !== last) env.set(p.node.output[0]!, (last = seen));
      }
    }
    return this.outputNames.map((name) => {
      const y = env.get(name);
      if (y === undefined) throw new Error(`the graph output '${name}' is not computed by any node`);
      return y;
    });
  }

  /** Runs one node on the values in `env` and puts its outputs there. */
  private runNode(node: NodeMessage, attrs: Attrs, env: Map<string, GraphValue>): GraphValue[] {
    const values = node.input.map((name) => {
      if (name === '') return null;
      const v = env.get(name);
      if (v === undefined) throw new Error(`input '${name}' is not computed by any earlier node`);
      return v;
    });
    const outs = this.dispatch(node, attrs, values, env);
    node.output.forEach((name, i) => {
      const v = outs[i];
      if (name && v) env.set(name, v);
    });
    return outs;
  }

  /** One node's outputs: control flow run here, ops on sequences given every value, tensor ops tensors and constants only. */
  private dispatch(node: NodeMessage, attrs: Attrs, values: (GraphValue | null)[], env: Map<string, GraphValue>): GraphValue[] {
    const subgraph = this.runSubgraph;
    const defaultDomain = !node.domain || node.domain === 'ai.onnx';
    if (defaultDomain && node.opType === 'If') return runIf(attrs, values, env, subgraph);
    if (defaultDomain && node.opType === 'Loop') return runLoop(attrs, values, env, subgraph);
    if (defaultDomain && node.opType === 'SequenceMap') return runSequenceMap(attrs, values, env, subgraph);
    const ctx = { attrs, opset: this.opset, outputs: node.output.length };
    const impl = defaultDomain && node.opType === 'Scan' ? null : opImpl(node.domain, node.opType, this.opset)!;
    if (impl && 'runValues' in impl) return impl.runValues({ ...ctx, values });
    const plain = values.map((v, i) => {
      if (v && !isPlainValue(v)) throw new Error(`${node.opType} takes tensors, but its input '${node.input[i]}' is ${describeValue(v)}`);
      return v;
    });
    return impl ? impl.run({ ...ctx, values: plain }) : runScan(attrs, plain, env, subgraph, this.opset);
  }

  /** Runs a subgraph (If branch, Loop or Scan body) on the enclosing values plus `bindings`; returns its outputs. */
  private readonly runSubgraph: SubgraphRunner = (graph, env, bindings, what) => {
    const scope = new Map(env);
    for (const [name, v] of bindings) scope.set(name, v);
    for (const t of graph.initializer) scope.set(t.name, readTensorProto(t, this.source));
    for (const node of graph.node) {
      try {
        this.runNode(node, this.branchAttrs(node), scope);
      } catch (e) {
        throw new Error(`in ${what}, node ${nodeLabel(node)}: ${(e as Error).message}`);
      }
    }
    return graph.output.map((o) => {
      const v = scope.get(o.name);
      if (v === undefined) throw new Error(`${what}'s output '${o.name}' is not computed by any node`);
      return v;
    });
  };

  /** A subgraph node's attributes, read once. */
  private branchAttrs(node: NodeMessage): Attrs {
    let a = this.attrsOfBranchNodes.get(node);
    if (!a) this.attrsOfBranchNodes.set(node, (a = new Attrs(node, this.source)));
    return a;
  }

  /** Class names from the model's metadata_props (see classNamesFromMetadata for the keys and forms read), or null. */
  classNames(): string[] | null {
    return classNamesFromMetadata(this.metadata)?.names ?? null;
  }

  /** The default CAM layer: the last top-level module whose output is 4-D with a spatial map larger than 1×1. */
  defaultCamLayer(inputShape: readonly number[] = this.inputShape): string {
    const rows = layers(this, [1, ...inputShape.slice(1)]).filter(
      (r) => r.depth === 0 && r.outputShape?.length === 4 && r.outputShape[2]! * r.outputShape[3]! > 1,
    );
    const last = rows[rows.length - 1];
    if (!last)
      throw new Error(
        'defaultCamLayer: the ONNX model has no top-level module with a 4-D output larger than 1×1; name the layer (see layers(model, shape))',
      );
    return last.path;
  }
}

/** TensorProto.DataType: the float types a model's input may declare (FLOAT, FLOAT16, DOUBLE, BFLOAT16). */
const DOUBLE = 11;
const FLOAT_TYPES = new Set([1, 10, DOUBLE, 16]);
const TYPE_NAMES: Record<number, string> = {
  2: 'UINT8',
  3: 'INT8',
  4: 'UINT16',
  5: 'INT16',
  6: 'INT32',
  7: 'INT64',
  8: 'STRING',
  9: 'BOOL',
  12: 'UINT32',
  13: 'UINT64',
};

function fmtShape(s: readonly number[]): string {
  return `[${s.join(', ')}]`;
}

/** A graph input's declared dims: numbers, or the dim_param names of dynamic dims ('?' when unnamed). */
function declaredDims(input: GraphMessage['input'][number]): (number | string)[] {
  const dims = input.type?.tensorType?.shape?.dim ?? [];
  return dims.map((d) =>
    d.dimValue !== undefined && d.dimValue !== null && toNumber(d.dimValue) > 0 ? toNumber(d.dimValue) : d.dimParam || '?',
  );
}

/** The graph input's shape with dynamic dims resolved from `option`, or a message naming the dims that are not. */
/** The `output` and `unbatched` options decided for `graph` (their functions called on its output names and input dims). */
function resolveLoadOptions(graph: GraphMessage, options: LoadOnnxOptions): ResolvedLoadOptions {
  const names = graph.output.map((o) => o.name);
  const initNames = new Set(graph.initializer.map((t) => t.name));
  const input = graph.input.find((i) => !initNames.has(i.name));
  const output = typeof options.output === 'function' ? options.output(names) : options.output;
  const unbatched =
    typeof options.unbatched === 'function' ? options.unbatched(input ? declaredDims(input) : [], names) : options.unbatched === true;
  return { ...options, output, unbatched };
}

/** The picture layout of input `name` (declared dims; an unbatched graph's with the batch dim in front), or a one-line refusal. */
function pictureLayoutOf(name: string, declared: readonly (number | string)[], unbatched: boolean): PictureLayout {
  const layout = pictureLayout(unbatched ? [1, ...declared] : declared);
  if (layout === null)
    throw new Error(
      `pictureInput: the graph input '${name}' [${declared.join(', ')}] is not a picture of 1 or 3 channels, first or last (NCHW or NHWC)`,
    );
  return layout;
}

function resolveInputShape(input: GraphMessage['input'][number], option: LoadOnnxOptions['inputShape']): number[] {
  const declared = declaredDims(input);
  const given = typeof option === 'function' ? option(declared) : option;
  if (given) {
    if (given.length !== declared.length && declared.length > 0) {
      throw new Error(
        `inputShape [${given.join(', ')}] has rank ${given.length}, the model's input '${input.name}' is [${declared.join(', ')}]`,
      );
    }
    declared.forEach((d, i) => {
      if (typeof d === 'number' && d !== given[i])
        throw new Error(
          `inputShape [${given.join(', ')}] differs from the model's fixed input '${input.name}' [${declared.join(', ')}] at dim ${i}`,
        );
    });
    if (given.some((d) => !Number.isInteger(d) || d < 1))
      throw new Error(`inputShape must be positive integers, got [${given.join(', ')}]`);
    checkElements(given, `the input '${input.name}'`);
    return [...given];
  }
  const resolved = declared.map((d, i) => (typeof d === 'number' ? d : i === 0 ? 1 : d));
  const open = resolved.filter((d) => typeof d !== 'number');
  if (open.length || declared.length === 0) {
    throw new Error(
      `the model's input '${input.name}' [${declared.join(', ') || 'no shape'}] has dynamic dims (${open.join(', ') || 'all'}) that cannot be resolved; pass inputShape (--size for the CLI)`,
    );
  }
  // A file may declare any dims: refuse before the load-time check allocates zeros of that shape.
  checkElements(resolved as number[], `the model's input '${input.name}'`);
  return resolved as number[];
}

/** The nodes of `graph` and of its subgraphs (If branches, Loop bodies), at any depth, whose op the importer does not run at `opset`. */
function unsupportedNodes(graph: GraphMessage, opset: number): NodeMessage[] {
  return graph.node.flatMap((n) => {
    if ((!n.domain || n.domain === 'ai.onnx') && (CONTROL_FLOW_OPS as readonly string[]).includes(n.opType))
      return n.attribute.flatMap((a) => (a.g ? unsupportedNodes(a.g, opset) : []));
    return opImpl(n.domain, n.opType, opset) ? [] : [n];
  });
}

/** Loads an ONNX model (a file path or its bytes) as a gradlens Module in eval mode. */
export function loadOnnx(pathOrBytes: string | Uint8Array, options: LoadOnnxOptions = {}): OnnxModel {
  let where = typeof pathOrBytes === 'string' ? pathOrBytes : 'ONNX bytes';
  try {
    let bytes: Uint8Array;
    let baseDir: string | null = null;
    if (typeof pathOrBytes === 'string') {
      const read = fileAccess(`loading '${pathOrBytes}'`).readModel(pathOrBytes);
      where = read.path;
      bytes = read.bytes;
      baseDir = read.dir;
    } else {
      bytes = pathOrBytes;
    }
    let model: ModelMessage;
    try {
      model = decodeModel(bytes);
    } catch (e) {
      throw new Error(`not an ONNX model, or truncated (protobuf decoding failed: ${(e as Error).message})`);
    }
    const declared = model.graph;
    if (!declared || toNumber(model.irVersion) < 1 || declared.node.length === 0)
      throw new Error('not an ONNX model (no ir_version or no graph nodes)');
    const sparse = declared.sparseInitializer ?? [];
    // without this, a node reading one would be told its input "is not computed by any earlier node"
    if (sparse.length)
      throw new Error(
        `the graph has ${sparse.length} sparse initializer${sparse.length > 1 ? 's' : ''} (${sparse.map((t) => `'${t.values?.name ?? '?'}'`).join(', ')}), which gradlens does not read: store them dense`,
      );
    const functions = model.functions ?? [];
    const graph: GraphMessage = functions.length ? { ...declared, node: inlineFunctions(declared.node, functions) } : declared;
    const opsetEntry = model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx');
    const opset = toNumber(opsetEntry?.version);
    if (!opsetEntry || opset < OPSET_RANGE.min || opset > OPSET_RANGE.max) {
      throw new Error(`opset ${opsetEntry ? opset : '(none)'} is outside the supported range ${OPSET_RANGE.min}–${OPSET_RANGE.max}`);
    }
    const unsupported = unsupportedNodes(graph, opset);
    if (unsupported.length) {
      const list = unsupported.map(
        (n) => `${n.domain ? `${n.domain}.` : ''}${n.opType} at ${JSON.stringify(n.name || n.output[0] || '?')}`,
      );
      // onnxruntime's extended optimisations write its contrib ops; its basic level keeps to ONNX's.
      const ort = unsupported.some((n) => n.domain === 'com.microsoft')
        ? ' (com.microsoft ops are onnxruntime’s: save the model from a session at graph_optimization_level ORT_ENABLE_BASIC or lower, which keeps to ONNX’s ops)'
        : '';
      throw new Error(
        `${unsupported.length} unsupported op${unsupported.length > 1 ? 's' : ''} at opset ${opset}: ${list.join(', ')}${ort}`,
      );
    }
    checkSingleAssignment(graph);
    const resolved = resolveLoadOptions(graph, options);
    if (!options.graphOnly) {
      const real = graph.input.filter((i) => !graph.initializer.some((t) => t.name === i.name));
      if (real.length !== 1)
        throw new Error(`the graph has ${real.length} inputs (${real.map((i) => i.name).join(', ')}); a gradlens model takes one`);
      if (graph.output.length !== 1 && resolved.output === undefined)
        throw new Error(
          `the graph has ${graph.output.length} outputs (${graph.output.map((o) => o.name).join(', ')}); a gradlens model gives one: choose it with { output: name }, or load with graphOnly and use runGraph`,
        );
      if (real[0]!.type?.sequenceType || real[0]!.type?.optionalType)
        throw new Error(
          `the graph input '${real[0]!.name}' is a ${real[0]!.type.sequenceType ? 'sequence' : 'optional'}, not a tensor: load with graphOnly and run it with runGraphValues`,
        );
      const type = real[0]!.type?.tensorType?.elemType;
      if (type && !FLOAT_TYPES.has(type))
        throw new Error(
          `the graph input '${real[0]!.name}' holds ${TYPE_NAMES[type] ?? `type ${type}`} values, not floats: a gradlens model takes a float input to differentiate (load with graphOnly and feed constants to runGraph, or export from the embedding on)`,
        );
    }
    const m = new OnnxModel(model, graph, { baseDir, ownsBytes: baseDir !== null }, resolved, opset);
    m.eval();
    if (!options.graphOnly && (options.check ?? true)) tidy(() => void noGrad(() => m.call(zeros([...m.inputShape], m.inputDtype))));
    return m;
  } catch (e) {
    throw new Error(oneLine(`loadOnnx ${where}: ${(e as Error).message}`));
  }
}
