import * as protobuf from 'protobufjs';
import { ONNX_PROTO } from './onnx-proto';

/** An int64 as protobufjs gives it: a number, or a Long when long.js is present. */
export type Int64 = number | { toNumber(): number; low: number; high: number; unsigned?: boolean };

export interface TensorShapeDim {
  dimValue?: Int64;
  dimParam?: string;
}

export interface ValueInfo {
  name: string;
  type?: {
    tensorType?: { elemType?: number; shape?: { dim?: TensorShapeDim[] } };
    /** A sequence or optional value (the element's type left undescribed: the importer does not read it). */
    sequenceType?: object;
    optionalType?: object;
  };
}

export interface StringEntry {
  key: string;
  value: string;
}

export interface TensorProtoMessage {
  dims: Int64[];
  dataType: number;
  name: string;
  floatData: number[];
  int32Data: number[];
  int64Data: Int64[];
  doubleData: number[];
  uint64Data: Int64[];
  stringData: Uint8Array[];
  rawData?: Uint8Array;
  dataLocation?: number;
  externalData: StringEntry[];
}

export interface AttributeMessage {
  name: string;
  type: number;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: TensorProtoMessage;
  g?: GraphMessage;
  floats: number[];
  ints: Int64[];
  strings: Uint8Array[];
  /** Inside a model-local function: the name of the calling node's attribute this one takes its value from. */
  refAttrName?: string;
}

export interface NodeMessage {
  input: string[];
  output: string[];
  name?: string;
  opType: string;
  domain?: string;
  attribute: AttributeMessage[];
}

export interface GraphMessage {
  node: NodeMessage[];
  name?: string;
  initializer: TensorProtoMessage[];
  /** Initializers stored sparse (SparseTensorProto): refused, with their names (only `values.name` is read). */
  sparseInitializer?: { values?: { name?: string } }[];
  input: ValueInfo[];
  output: ValueInfo[];
  valueInfo: ValueInfo[];
}

/** A model-local function (FunctionProto): nodes a node of op type `name` in `domain` stands for. */
export interface FunctionMessage {
  name: string;
  domain?: string;
  input: string[];
  output: string[];
  attribute: string[];
  node: NodeMessage[];
}

export interface ModelMessage {
  irVersion?: Int64;
  opsetImport: { domain?: string; version?: Int64 }[];
  producerName?: string;
  producerVersion?: string;
  graph?: GraphMessage;
  metadataProps: StringEntry[];
  functions: FunctionMessage[];
}

let modelType: protobuf.Type | null = null;
let tensorType: protobuf.Type | null = null;

/** ONNX's own onnx.proto (from the onnx Python package, shipped beside dist/ and src/), parsed from its text. */
function root(): protobuf.Root {
  return protobuf.parse(ONNX_PROTO).root;
}

/** Decodes an ONNX ModelProto; bytes fields (raw_data) stay views into `bytes` (protobufjs slices a Buffer). */
export function decodeModel(bytes: Uint8Array): ModelMessage {
  modelType ??= root().lookupType('onnx.ModelProto');
  return modelType.decode(bytes) as unknown as ModelMessage;
}

/** Decodes a lone TensorProto (the .pb files of ONNX's node tests). */
export function decodeTensor(bytes: Uint8Array): TensorProtoMessage {
  tensorType ??= root().lookupType('onnx.TensorProto');
  return tensorType.decode(bytes) as unknown as TensorProtoMessage;
}

/** An int64 as a JS number; values beyond ±2^53 (INT64_MAX as "to the end" in Slice) are clamped there. */
export function toNumber(v: Int64 | undefined | null): number {
  if (v === undefined || v === null) return 0;
  const n = typeof v === 'number' ? v : v.toNumber();
  return Math.max(-Number.MAX_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, n));
}
