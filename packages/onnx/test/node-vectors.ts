import * as fs from 'fs';
import * as path from 'path';
import * as protobuf from 'protobufjs';
import { Tensor, tidy } from '@gradlens/tensor';
import type { GraphValue, Value } from '@gradlens/onnx';
import { decodeModel, decodeTensor, loadOnnx, OnnxOptional, OnnxSequence, readTensorProto, supportedOps } from '@gradlens/onnx';
import { ONNX_PROTO } from '../src/onnx-proto';
import type { TensorProtoMessage } from '../src/proto';

/** Where Debian's libonnx-testdata puts ONNX's backend node tests. */
export const NODE_TEST_DIR = '/usr/share/libonnx-testdata/data/node';

export type Outcome = { status: 'passed' } | { status: 'failed' | 'skipped'; why: string };

/** onnx-data.proto's SequenceProto and OptionalProto (the node tests' sequence and optional .pb files), maps and sparse tensors left out. */
const DATA_PROTO = `syntax = "proto2"; package onnx;
message SequenceProto { optional string name = 1; optional int32 elem_type = 2; repeated TensorProto tensor_values = 3;
  repeated SequenceProto sequence_values = 5; repeated OptionalProto optional_values = 7; }
message OptionalProto { optional string name = 1; optional int32 elem_type = 2; optional TensorProto tensor_value = 3;
  optional SequenceProto sequence_value = 5; optional OptionalProto optional_value = 7; }`;

interface SequenceMessage {
  elemType?: number;
  tensorValues: TensorProtoMessage[];
  sequenceValues: SequenceMessage[];
}
interface OptionalMessage {
  elemType?: number;
  tensorValue?: TensorProtoMessage;
  sequenceValue?: SequenceMessage;
}
type Stored = { tensor: Value } | { sequence: Stored[] } | { optional: Stored | null };

let dataRoot: protobuf.Root | null = null;
function dataType(name: string): protobuf.Type {
  dataRoot ??= protobuf.parse(DATA_PROTO, protobuf.parse(ONNX_PROTO).root).root;
  return dataRoot.lookupType(name);
}

const tensorOf = (t: TensorProtoMessage) => readTensorProto(t, { baseDir: null });
function fromSequence(m: SequenceMessage): Stored {
  return { sequence: m.elemType === 3 ? m.sequenceValues.map(fromSequence) : m.tensorValues.map((t) => ({ tensor: tensorOf(t) })) };
}
function fromOptional(m: OptionalMessage): Stored {
  if (m.tensorValue) return { optional: { tensor: tensorOf(m.tensorValue) } };
  if (m.sequenceValue) return { optional: fromSequence(m.sequenceValue) };
  return { optional: null };
}

/** A .pb file as the declared type of the value it holds says: a TensorProto, SequenceProto or OptionalProto. */
function readStored(file: string, type: { sequenceType?: unknown; optionalType?: unknown } | undefined): Stored {
  const bytes = fs.readFileSync(file);
  if (type?.sequenceType) return fromSequence(dataType('onnx.SequenceProto').decode(bytes) as unknown as SequenceMessage);
  if (type?.optionalType) return fromOptional(dataType('onnx.OptionalProto').decode(bytes) as unknown as OptionalMessage);
  return { tensor: tensorOf(decodeTensor(bytes)) };
}

/** A stored value as the importer's graph value. */
function toGraphValue(s: Stored): GraphValue {
  if ('tensor' in s) return s.tensor;
  if ('sequence' in s) return new OnnxSequence(s.sequence.map((x) => toGraphValue(x) as Value));
  return new OnnxOptional(s.optional ? (toGraphValue(s.optional) as Value | OnnxSequence) : null);
}

/**
 * The random ops: their vectors hold NumPy's draws, which no other generator reproduces (ONNX fixes none), so a test
 * using one is checked for its shapes and for every value being one the vectors hold (Bernoulli's 0 and 1).
 */
const RANDOM_OPS = new Set(['RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Bernoulli', 'Multinomial']);

/**
 * Why `got` differs from `want`, or null when they agree (shapes exactly, values within 1e-4 + 1e-3 relative; with
 * `random`, each value one of those `want` holds).
 */
function mismatch(got: GraphValue | undefined, want: Stored, where: string, random = false): string | null {
  if (!got) return `${where} missing`;
  if ('sequence' in want) {
    if (!(got instanceof OnnxSequence)) return `${where} is not a sequence`;
    if (got.length !== want.sequence.length) return `${where} holds ${got.length} elements, expected ${want.sequence.length}`;
    for (let i = 0; i < got.length; i++) {
      const m = mismatch(got.items[i], want.sequence[i]!, `${where}[${i}]`, random);
      if (m) return m;
    }
    return null;
  }
  if ('optional' in want) {
    if (!(got instanceof OnnxOptional)) return `${where} is not an optional`;
    if (!want.optional) return got.value === null ? null : `${where} holds a value, expected none`;
    return got.value === null ? `${where} is empty` : mismatch(got.value, want.optional, where, random);
  }
  if (got instanceof OnnxSequence || got instanceof OnnxOptional) return `${where} is not a tensor`;
  const w = want.tensor;
  if (got.shape.join(',') !== w.shape.join(',')) return `${where} shape [${got.shape}] vs [${w.shape}]`;
  const g = valuesOf(got);
  const v = valuesOf(w);
  if (random) {
    const support = new Set(v);
    const outside = g.find((x) => !support.has(x));
    return outside === undefined ? null : `${where} holds ${outside}, which is none of the vectors' values`;
  }
  for (let k = 0; k < v.length; k++) {
    const a = g[k]!;
    const b = v[k]!;
    if (Number.isNaN(b) ? !Number.isNaN(a) : Math.abs(a - b) > 1e-4 + 1e-3 * Math.abs(b) && a !== b)
      return `${where}[${k}] = ${a}, expected ${b}`;
  }
  return null;
}

function valuesOf(v: Value): number[] {
  return Array.from(v instanceof Tensor ? v.values() : v.data, Number);
}

/** Runs one node test directory through the importer: its model on test_data_set_0, compared elementwise. */
export function runNodeTest(dir: string): { ops: string[]; outcome: Outcome } {
  const bytes = fs.readFileSync(path.join(dir, 'model.onnx'));
  const model = decodeModel(bytes);
  const ops = [...new Set((model.graph?.node ?? []).map((n) => n.opType))];
  const missing = ops.filter((op) => !supportedOps().includes(op));
  if (missing.length) return { ops, outcome: { status: 'skipped', why: `needs ${missing.join(', ')}` } };
  const data = path.join(dir, 'test_data_set_0');
  const files = fs.readdirSync(data).sort();
  const inputTypes = (model.graph?.input ?? []).map((v) => v.type);
  const outputTypes = (model.graph?.output ?? []).map((v) => v.type);
  let outcome: Outcome = { status: 'passed' };
  tidy(() => {
    let m;
    try {
      m = loadOnnx(bytes, { graphOnly: true });
    } catch (e) {
      outcome = { status: 'skipped', why: (e as Error).message };
      return;
    }
    let outs: GraphValue[];
    try {
      const inputs = files.filter((f) => f.startsWith('input_')).map((f, i) => toGraphValue(readStored(path.join(data, f), inputTypes[i])));
      const feeds = new Map(m.inputNames.map((n, i) => [n, inputs[i]!] as [string, GraphValue]));
      outs = m.runGraphValues(feeds);
    } catch (e) {
      const msg = (e as Error).message;
      outcome = { status: /not supported|does not fit int32|gradlens supports|does not read/.test(msg) ? 'skipped' : 'failed', why: msg };
      return;
    }
    const expected = files.filter((f) => f.startsWith('output_')).map((f, i) => readStored(path.join(data, f), outputTypes[i]));
    for (let i = 0; i < expected.length; i++) {
      const why = mismatch(
        outs[i],
        expected[i]!,
        `output ${i}`,
        ops.some((op) => RANDOM_OPS.has(op)),
      );
      if (why) {
        outcome = { status: 'failed', why };
        return;
      }
    }
  });
  return { ops, outcome };
}
