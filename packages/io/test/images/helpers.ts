import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** Fixtures written by scripts/make-io-image-fixtures.py. */
export const FIXTURES = path.join(__dirname, '..', 'fixtures', 'images');

/** An array as the fixture script stores it: little-endian raw bytes in base64. */
export interface FixtureArray {
  dtype: string;
  shape: number[];
  b64: string;
}

export function loadJson<T>(...parts: string[]): T {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, ...parts), 'utf8')) as T;
}

function bytesOf(a: FixtureArray): Buffer {
  return Buffer.from(a.b64, 'base64');
}

export function u8(a: FixtureArray): Uint8Array {
  if (a.dtype !== 'uint8') throw new Error(`fixture is ${a.dtype}, not uint8`);
  return new Uint8Array(bytesOf(a));
}

export function u16(a: FixtureArray): Uint16Array {
  if (a.dtype !== 'uint16') throw new Error(`fixture is ${a.dtype}, not uint16`);
  const b = bytesOf(a);
  return new Uint16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function f32(a: FixtureArray): Float32Array {
  if (a.dtype !== 'float32') throw new Error(`fixture is ${a.dtype}, not float32`);
  const b = bytesOf(a);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function f64(a: FixtureArray): Float64Array {
  if (a.dtype !== 'float64') throw new Error(`fixture is ${a.dtype}, not float64`);
  const b = bytesOf(a);
  return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** Largest |a[i] - b[i]|; throws when the lengths differ. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] ?? NaN) - (b[i] ?? NaN)));
  return m;
}

/** A fresh temporary folder, removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradlens-images-'));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
