import * as fs from 'fs';
import * as path from 'path';
import { ONNX_PROTO } from '../src/onnx-proto';
import { decodeModel } from '../src/proto';

describe('the ONNX schema the importer parses', () => {
  test('is onnx.proto, as shipped (regenerate with node scripts/make-onnx-schema.js)', () => {
    expect(ONNX_PROTO).toBe(fs.readFileSync(path.join(__dirname, '..', 'onnx.proto'), 'utf8'));
  });

  test('decodes a torch.onnx export with the camelCase field names the importer reads', () => {
    const m = decodeModel(fs.readFileSync(path.join(__dirname, 'fixtures', 'densenet121.onnx')));
    expect(m.graph!.node.length).toBeGreaterThan(10);
    expect(m.opsetImport.length).toBeGreaterThan(0);
    expect(m.graph!.initializer.some((t) => t.rawData !== undefined && t.dataType === 1)).toBe(true);
  });
});
