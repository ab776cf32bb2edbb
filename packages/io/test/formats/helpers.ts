import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { NdArray } from '../../src/array';

/** The folder of committed fixtures made by scripts/make-io-format-fixtures.py. */
export const FIXTURES = path.join(__dirname, '..', 'fixtures', 'formats');

/** One expected array as the fixture script writes it. */
export interface Expected {
  dtype: string;
  shape: number[];
  values: (number | string)[];
  bits?: number[];
}

/** Returns a fixture's path. */
export function fixture(name: string): string {
  return path.join(FIXTURES, name);
}

/** Returns a parsed expected-values JSON file. */
export function expectedJson<T>(name: string): T {
  return JSON.parse(fs.readFileSync(fixture(name), 'utf8')) as T;
}

/** Asserts that an NdArray matches an expected record exactly. */
export function expectMatches(actual: NdArray | undefined, exp: Expected | undefined, label: string): void {
  if (!exp) throw new Error(`no expected values for ${label}`);
  expect(actual).toBeDefined();
  if (!actual) return;
  expect({ label, dtype: actual.dtype, shape: actual.shape }).toEqual({ label, dtype: exp.dtype, shape: exp.shape });
  const got = Array.from(actual.data as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? v.toString() : v));
  if (exp.bits) expect({ label, got }).toEqual({ label, got: exp.bits });
  else if (exp.dtype === 'float32') expect({ label, got }).toEqual({ label, got: exp.values.map((v) => Math.fround(Number(v))) });
  else expect({ label, got }).toEqual({ label, got: exp.values });
}

/** Returns a fresh temporary folder, removed by the returned cleanup function. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradlens-formats-'));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Calls `read` on every proper prefix of `bytes` and asserts each throws an Error (never returns or hangs). */
export function expectEveryTruncationThrows(bytes: Uint8Array, read: (b: Uint8Array) => unknown, step = 1): void {
  for (let len = 0; len < bytes.length; len += step) {
    const cut = bytes.slice(0, len);
    let threw: unknown = null;
    try {
      read(cut);
    } catch (err) {
      threw = err;
    }
    if (!(threw instanceof Error)) throw new Error(`truncation to ${len} of ${bytes.length} bytes did not throw`);
  }
}

/** Flips each byte in turn (xor 0xff) and asserts the reader either returns or throws an Error, never anything else. */
export function expectByteFlipsAreSafe(bytes: Uint8Array, read: (b: Uint8Array) => unknown, step = 1): number {
  let thrown = 0;
  for (let i = 0; i < bytes.length; i += step) {
    const bad = bytes.slice();
    bad[i] = (bad[i] ?? 0) ^ 0xff;
    try {
      read(bad);
    } catch (err) {
      if (!(err instanceof Error)) throw new Error(`flipping byte ${i} threw a non-Error: ${String(err)}`);
      thrown++;
    }
  }
  return thrown;
}
