import * as fs from 'fs';
import * as path from 'path';
import { Tensor, tidy } from '@gradlens/tensor';
import type { Value } from '@gradlens/onnx';
import { decodeModel, decodeTensor, loadOnnx, readTensorProto, supportedOps } from '@gradlens/onnx';

/** Where Debian's libonnx-testdata puts ONNX's backend node tests. */
export const NODE_TEST_DIR = '/usr/share/libonnx-testdata/data/node';

export type Outcome = { status: 'passed' } | { status: 'failed' | 'skipped'; why: string };

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
  const nonTensor = (model.graph?.input ?? []).filter((i) => !i.type?.tensorType);
  if (nonTensor.length)
    return { ops, outcome: { status: 'skipped', why: `input ${nonTensor[0]!.name} is a sequence or optional, not a tensor` } };
  const data = path.join(dir, 'test_data_set_0');
  const read = (f: string) => readTensorProto(decodeTensor(fs.readFileSync(path.join(data, f))), { baseDir: null });
  const files = fs.readdirSync(data).sort();
  let outcome: Outcome = { status: 'passed' };
  tidy(() => {
    let m;
    try {
      m = loadOnnx(bytes, { graphOnly: true });
    } catch (e) {
      outcome = { status: 'skipped', why: (e as Error).message };
      return;
    }
    let outs: Value[];
    try {
      const inputs = files.filter((f) => f.startsWith('input_')).map(read);
      const feeds = new Map(m.inputNames.map((n, i) => [n, inputs[i]!] as [string, Value]));
      outs = m.runGraph(feeds);
    } catch (e) {
      const msg = (e as Error).message;
      outcome = { status: /not supported|does not fit int32|gradlens supports|does not read/.test(msg) ? 'skipped' : 'failed', why: msg };
      return;
    }
    const expected = files.filter((f) => f.startsWith('output_')).map(read);
    for (let i = 0; i < expected.length; i++) {
      const want = expected[i]!;
      const got = outs[i];
      if (!got) {
        outcome = { status: 'failed', why: `output ${i} missing` };
        return;
      }
      if (got.shape.join(',') !== want.shape.join(',')) {
        outcome = { status: 'failed', why: `output ${i} shape [${got.shape}] vs [${want.shape}]` };
        return;
      }
      const g = valuesOf(got);
      const w = valuesOf(want);
      for (let k = 0; k < w.length; k++) {
        const a = g[k]!;
        const b = w[k]!;
        if (Number.isNaN(b) ? !Number.isNaN(a) : Math.abs(a - b) > 1e-4 + 1e-3 * Math.abs(b) && a !== b) {
          outcome = { status: 'failed', why: `output ${i}[${k}] = ${a}, expected ${b}` };
          return;
        }
      }
    }
  });
  return { ops, outcome };
}
