/**
 * Hostile weights and array files (issue 19): .pth pickles, .npz/zip, .npy and safetensors crafted
 * by scripts/make-hostile-fixtures.py (committed, small) or here (the ones that need megabytes on
 * disk). Reader cases run in a child process with a V8 heap limit, a time limit and measured peak
 * memory; every one must end in the expected outcome: one clear Error naming the file, or the data.
 * Then a seeded fuzz pass over every valid format fixture, and the zero-copy views of issue 17.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  checkNdArray,
  decodeNpy,
  decodeNpz,
  decodeSafetensors,
  decodeTorchFile,
  encodeNpy,
  encodeZip,
  fromNumbers,
  isNdArray,
  readPth,
  readSafetensors,
  type NdArray,
  type ReadLimits,
  type TorchValue,
} from '../../src';
import type { ChildOutcome } from './in-child';
import { inChild } from './in-child';

const HOSTILE = path.resolve(__dirname, '..', 'fixtures', 'hostile');
const FORMATS = path.resolve(__dirname, '..', 'fixtures', 'formats');
const MiB = 1024 * 1024;
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradlens-hostile-formats-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Asserts a child's outcome is one plain Error, starting with the file's name, short, fast, and that
 * the child grew at most `growthMiB` over Node's own ~60 MiB (or the high-water mark it started with).
 */
function expectClearError(r: ChildOutcome, file: string, message: RegExp, growthMiB = 150): void {
  expect(r).toMatchObject({ ok: false, name: 'Error' });
  expect(r.message).toMatch(new RegExp(`^${escape(file)}[:]`));
  expect(r.message).toMatch(message);
  expect(r.message!.length).toBeLessThan(800);
  expect(r.ms).toBeLessThan(10_000);
  expect(r.maxRssMiB).toBeLessThan(Math.max(r.startRssMiB, 60) + growthMiB);
}

describe('crafted weights and arrays end in one clear line, within bounded memory and time', () => {
  // [fixture, reader, limits, expected message]
  const cases: Array<[string, string, Partial<ReadLimits> | undefined, RegExp]> = [
    [
      'expand-2gib.pth',
      'readPth',
      undefined,
      /materialising the view of size \[536870912\] \(536870912 float32 elements\) would need 2\.0 GiB.*over the reading budget of 2\.0 GiB.*setReadLimits/,
    ],
    [
      'expand-2gib-legacy.pth',
      'readPth',
      undefined,
      /pickle byte \d+: tensor on storage \S+: materialising the view of size \[536870912\].*would need 2\.0 GiB.*over the reading budget/,
    ],
    ['legacy-numel-2pow50.pth', 'readPth', undefined, /storage \d+ \(4503599627370496 bytes at byte \d+\) runs past the end of the file/],
    [
      'expand-2d.pth',
      'readPth',
      { maxDecodedBytes: 256 * MiB },
      /size \[16384, 16384\].*would need 1\.0 GiB.*over the reading budget of 256\.0 MiB/,
    ],
    // six 64 MiB views: three fit in 200 MiB, the fourth does not (the budget counts them all)
    [
      'expand-six.pth',
      'readPth',
      { maxDecodedBytes: 200 * MiB },
      /would need 64\.0 MiB \(after 192\.0 MiB already decoded\), over the reading budget of 200\.0 MiB/,
    ],
    ['deep-marks.pth', 'readPth', undefined, /data\.pkl: pickle byte \d+: MARKs nest deeper than 1000 levels/],
    ['deep-memo.pth', 'readPth', undefined, /data\.pkl: pickle byte \d+: values nest deeper than 1000 levels/],
    ['deep-calls.pth', 'readPth', undefined, /data\.pkl: pickle byte \d+: calls nest deeper than 1000 levels/],
    [
      'stack-global.pth',
      'readPth',
      undefined,
      /refusing to load global os\.system: it is not on the allow-list.*Nothing in the file was executed/,
    ],
    ['long4-1mib.pth', 'readPth', undefined, /is not a state dict: entry "n" is a bigint, not a tensor/],
    // 300 directory entries pointing at one deflated 8 MiB blob: their names cannot all match its local header
    ['overlap.npz', 'readNpz', undefined, /not a valid zip archive: local header of a00000\.npy at byte 0 names a different entry/],
    // an entry whose local header and data lie inside another entry's stored data
    ['overlap-nested.npz', 'readNpz', undefined, /not a valid zip archive: entries outer\.npy and inner\.npy overlap .*zip bomb/],
    ['inflate-longer.npz', 'readNpz', undefined, /cannot inflate a\.npy: Cannot create a Buffer larger than 1000 bytes/],
    [
      'inflate-declares-4gib.npz',
      'readNpz',
      undefined,
      /inflating zip entry a\.npy would need 4\.0 GiB, over the reading budget of 2\.0 GiB/,
    ],
    ['header-4gib.npy', 'readNpy', undefined, /header length 4294967295 is over the 1048576-byte limit/],
    ['shape-2pow40.npy', 'readNpy', undefined, /shape \(1099511627776\) of float32 needs 4398046511104 data bytes, the file has 16/],
    ['dtype-proto.safetensors', 'readSafetensors', undefined, /tensor "w": dtype "__proto__" is not supported \(expected one of F64/],
    ['dtype-tostring.safetensors', 'readSafetensors', undefined, /tensor "w": dtype "toString" is not supported/],
    ['header-huge.safetensors', 'readSafetensors', undefined, /header length 18446744073709551615 exceeds the 2 bytes after it/],
  ];
  it.each(cases)('%s (%s)', (name, reader, limits, message) => {
    const file = path.join(HOSTILE, name);
    expectClearError(inChild(reader, file, limits), file, message, limits?.maxDecodedBytes ? limits.maxDecodedBytes / MiB : 150);
  });

  it('a 1 MiB LONG4 integer decodes in linear time', () => {
    const r = inChild('readTorchFile', path.join(HOSTILE, 'long4-1mib.pth'));
    expect(r).toMatchObject({ ok: true, summary: 'keys: n' });
    expect(r.ms).toBeLessThan(3_000); // quadratic decoding took minutes
  });

  it('expanded views that fit the default budget load, fast (six of 64 MiB)', () => {
    // within the default 2 GiB budget the views are materialised; rows are copied by doubling
    const r = inChild('readPth', path.join(HOSTILE, 'expand-six.pth'));
    expect(r).toMatchObject({ ok: true, summary: 'keys: w0, w1, w2, w3, w4, w5' });
    expect(r.ms).toBeLessThan(15_000);
  });

  it('zip entry names with .. or an absolute path are names, never paths: nothing is written, nothing outside is read', () => {
    const before = fs.readdirSync(dir);
    const npy = encodeNpy(fromNumbers('float32', [2], [1, 2]));
    const npz = encodeZip([
      { name: '../../escape.npy', data: npy },
      { name: '/etc/passwd.npy', data: npy },
    ]);
    expect(Object.keys(decodeNpz(npz, 'dots.npz'))).toEqual(['../../escape', '/etc/passwd']);
    // a .pth whose entries climb out ('archive/' renamed '../../x/' in both headers, CRCs still right): refused by name
    const pth = fs
      .readFileSync(path.join(HOSTILE, 'shared-storage.pth'))
      .toString('latin1')
      .replace(/archive\//g, '../../x/');
    expect(() => decodeTorchFile(Buffer.from(pth, 'latin1'), 'dots.pth')).toThrow(
      /^dots\.pth: expected one <folder>\/data\.pkl entry in the archive, found 0 \(entries: \.\.\/\.\.\/x\/data\.pkl/,
    );
    expect(fs.readdirSync(dir)).toEqual(before);
  });

  it('a tensor named __proto__ is a plain own key', () => {
    const { tensors } = readSafetensors(path.join(HOSTILE, 'name-proto.safetensors'));
    expect(Object.keys(tensors)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(tensors)).toBe(Object.prototype);
    expect(Array.from(Object.getOwnPropertyDescriptor(tensors, '__proto__')!.value.data as Float32Array)).toEqual([1.5, -2]);
  });
});

describe('huge untrusted values are quoted as short excerpts', () => {
  const huge = 'Q'.repeat(16 * MiB);
  const cases: Array<[string, string, () => Buffer, RegExp]> = [
    [
      '16 MiB dtype string',
      'readSafetensors',
      () => {
        const header = Buffer.from(JSON.stringify({ w: { dtype: huge, shape: [1], data_offsets: [0, 4] } }));
        const len = Buffer.alloc(8);
        len.writeBigUInt64LE(BigInt(header.length));
        return Buffer.concat([len, header, Buffer.alloc(4)]);
      },
      /dtype "\\"Q{30,80}… \(16777218 characters\)" is not supported/,
    ],
    [
      '16 MiB tensor name',
      'readSafetensors',
      () => {
        const header = Buffer.from(JSON.stringify({ [huge]: { dtype: 'F32', shape: [1], data_offsets: [0, 8] } }));
        const len = Buffer.alloc(8);
        len.writeBigUInt64LE(BigInt(header.length));
        return Buffer.concat([len, header, Buffer.alloc(8)]);
      },
      /tensor "\\"Q{30,80}… \(16777218 characters\)": data_offsets \[0, 8\] span 8 bytes/,
    ],
    [
      'npy header of 1 MiB of garbage',
      'readNpy',
      () => {
        const text = `{'descr': '${'Q'.repeat(MiB - 100)}'`;
        const out = Buffer.alloc(12 + text.length);
        out.write('\x93NUMPY', 'latin1');
        out[6] = 2;
        out.writeUInt32LE(text.length, 8);
        out.write(text, 12, 'latin1');
        return out;
      },
      /cannot parse header "\{'descr': 'Q{20,80}… \(\d+ characters\)"/,
    ],
  ];
  it.each(cases)('%s', (what, reader, make, message) => {
    const file = path.join(dir, `${what.replace(/[^a-z0-9]+/gi, '_')}.${reader === 'readNpy' ? 'npy' : 'safetensors'}`);
    fs.writeFileSync(file, make());
    expectClearError(inChild(reader, file), file, message, 350); // the 16 MiB strings themselves, as JSON and UTF-16
  });
});

describe('readers refuse what is not a regular file, without reading it', () => {
  const readers = ['readPth', 'readNpz', 'readNpy', 'readSafetensors'];
  it.each(readers)('%s of /dev/zero, a folder and a FIFO', (reader) => {
    expectClearError(inChild(reader, '/dev/zero'), 'cannot read /dev/zero', /it is a character device, not a regular file/);
    expectClearError(inChild(reader, dir), `cannot read ${dir}`, /it is a directory, not a regular file/);
    const fifo = path.join(dir, `${reader}.fifo`);
    if (!fs.existsSync(fifo)) spawnSync('mkfifo', [fifo]);
    if (fs.existsSync(fifo))
      expectClearError(inChild(reader, fifo), `cannot read ${fifo}`, /it is a FIFO \(named pipe\), not a regular file/);
  });
});

// --- zero-copy views (issue 17) -----------------------------------------------------------------

describe('tensors are views of the file bytes where aligned', () => {
  it('a torch.save state dict: contiguous tensors share the archive buffer; shared, strided and expanded ones are copies', () => {
    const bytes = new Uint8Array(fs.readFileSync(path.join(FORMATS, 'state_dict.pth')));
    const copy = new Uint8Array(bytes.length + 64).subarray(64); // own, 64-aligned buffer
    copy.set(bytes);
    const root = decodeTorchFile(copy, 'state_dict.pth') as Record<string, NdArray>;
    const names = Object.keys(root).filter((k) => isNdArray(root[k] as TorchValue) && root[k]!.data.length > 0);
    const copies = ['shared.b', 'shared.c', 'shared.d', 'expanded'];
    expect(names.length).toBeGreaterThan(15);
    for (const k of names) expect([k, root[k]!.data.buffer === copy.buffer]).toEqual([k, !copies.includes(k)]);
  });

  it('tensors sharing one storage get independent memory (views only for the first)', () => {
    const d = readPth(path.join(HOSTILE, 'shared-storage.pth'));
    expect(Array.from(d.a!.data as Float32Array)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(Array.from(d.b!.data as Float32Array)).toEqual([1, 2, 5, 6, 9, 10]);
    expect(Array.from(d.c!.data as Float32Array)).toEqual([4, 5, 6, 7]);
    (d.a!.data as Float32Array)[5] = 99;
    expect(Array.from(d.c!.data as Float32Array)).toEqual([4, 5, 6, 7]);
  });

  it('safetensors and .npy: views when aligned, copies (counted) when not', () => {
    const st = new Uint8Array(fs.readFileSync(path.join(FORMATS, 'model.safetensors')));
    const own = new Uint8Array(st.length + 8).subarray(8);
    own.set(st);
    const { tensors } = decodeSafetensors(own, 'model.safetensors');
    const values = Object.values(tensors);
    expect(values.some((t) => t.data.buffer === own.buffer)).toBe(true);
    for (const t of values) expect(() => checkNdArray(t, 'model.safetensors')).not.toThrow();
    // shifted by one byte, nothing wider than a byte can be a view: copies, within a tiny budget they fail
    const odd = new Uint8Array(st.length + 1).subarray(1);
    odd.set(st);
    const headerCost = 4 * Number(new DataView(st.buffer, st.byteOffset).getBigUint64(0, true));
    expect(() => decodeSafetensors(odd, 'odd.safetensors', { maxDecodedBytes: headerCost + 16 })).toThrow(
      /^odd\.safetensors: copying tensor "f64" would need 24 bytes \(after 3\.2 KiB already decoded\), over the reading budget/,
    );
    const npy = new Uint8Array(fs.readFileSync(path.join(FORMATS, 'f4.npy')));
    const ownNpy = new Uint8Array(npy.length).fill(0);
    ownNpy.set(npy);
    expect(decodeNpy(ownNpy, 'f4.npy').data.buffer).toBe(ownNpy.buffer);
    expect(decodeNpy(new Uint8Array(fs.readFileSync(path.join(FORMATS, 'big_f4.npy'))), 'big.npy').data.byteOffset).toBe(0); // swapped copy
  });
});

// --- seeded fuzz ---------------------------------------------------------------------------------

/** A small deterministic generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Decoder = (bytes: Uint8Array, name: string) => unknown;
const FUZZ_LIMITS: Partial<ReadLimits> = { maxDecodedBytes: 64 * MiB };
const decoders: Record<string, Decoder> = {
  '.npy': (b, n) => decodeNpy(b, n, FUZZ_LIMITS),
  '.npz': (b, n) => decodeNpz(b, n, FUZZ_LIMITS),
  '.safetensors': (b, n) => decodeSafetensors(b, n, FUZZ_LIMITS),
  '.pth': (b, n) => decodeTorchFile(b, n, FUZZ_LIMITS),
  // a TorchScript archive, read the way readPth reads it: its scripted modules as inert data
  '.pt': (b, n) => decodeTorchFile(b, n, FUZZ_LIMITS, { opaqueGlobals: true }),
};
/** Formats whose every byte that matters is covered by a checksum or a cross-check (zip: CRC-32 and names). */
const CHECKED = new Set(['.npz', '.pth']);

/** A plain, comparable image of a decoded value: arrays as dtype, shape and element list. */
function canonical(v: unknown, depth = 0): unknown {
  if (depth > 50) return '…';
  if (v instanceof Uint8Array) return ['bytes', Array.from(v)];
  if (typeof v === 'bigint') return `${v}n`;
  if (v === null || typeof v !== 'object') return typeof v === 'number' && Number.isNaN(v) ? 'NaN' : v;
  if (Array.isArray(v)) return v.map((x) => canonical(x, depth + 1));
  const o = v as Record<string, unknown>;
  if ('dtype' in o && 'shape' in o && 'data' in o && ArrayBuffer.isView(o.data)) {
    checkNdArray(o as unknown as NdArray, 'fuzz');
    return [
      'array',
      o.dtype,
      o.shape,
      Array.from(new Uint8Array((o.data as Uint8Array).buffer, (o.data as Uint8Array).byteOffset, (o.data as Uint8Array).byteLength)),
    ];
  }
  return Object.keys(o).map((k) => [k, canonical(o[k], depth + 1)]);
}

/** Every array of a decoded value must be well-formed (dtype, shape and data agree). */
function wellFormed(v: unknown, depth = 0): void {
  canonical(v, depth);
}

describe('seeded fuzz: truncations and byte mutations of every valid fixture', () => {
  const files = [
    ...fs
      .readdirSync(FORMATS)
      .filter((f) => Object.keys(decoders).some((e) => f.endsWith(e)) && !/evil|u2\.npy/.test(f))
      .map((f) => path.join(FORMATS, f)),
    path.join(HOSTILE, 'shared-storage.pth'),
    path.join(HOSTILE, 'name-proto.safetensors'),
  ];
  it.each(files.map((f) => [path.basename(f), f]))('%s', (_name, file) => {
    const ext = path.extname(file);
    // a checkpoint holding an argparse.Namespace, and a whole pickled module, decode with other classes as inert data only
    const decode: Decoder = /objects|whole_module|module_cycle/.test(file)
      ? (b, n) => decodeTorchFile(b, n, FUZZ_LIMITS, { opaqueGlobals: true })
      : decoders[ext]!;
    const original = new Uint8Array(fs.readFileSync(file));
    const reference = JSON.stringify(canonical(decode(original.slice(), 'fuzz')));
    const next = rng(original.length * 7919 + ext.length);
    const trials = 120;
    let errors = 0;
    for (let trial = 0; trial < trials; trial++) {
      let bytes: Uint8Array;
      let what: string;
      if (trial < 30) {
        const cut = Math.floor(next() * original.length);
        bytes = original.slice(0, cut);
        what = `truncated to ${cut} bytes`;
      } else {
        bytes = original.slice();
        const flips = 1 + Math.floor(next() * 3);
        const at: number[] = [];
        for (let k = 0; k < flips; k++) {
          const p = Math.floor(next() * bytes.length);
          at.push(p);
          bytes[p] = (bytes[p]! + 1 + Math.floor(next() * 255)) & 0xff; // always a different byte
        }
        what = `bytes ${at.join(', ')} changed`;
      }
      let result: unknown;
      const t0 = Date.now();
      try {
        result = decode(bytes, 'fuzz');
      } catch (err) {
        errors++;
        if (Date.now() - t0 > 2000) throw new Error(`${file}, ${what}: took ${Date.now() - t0} ms to fail`);
        if (
          !(err instanceof Error) ||
          err.constructor !== Error ||
          !err.message.startsWith('fuzz') ||
          err.message.length > 1000 ||
          err.message.includes('\n')
        ) {
          throw new Error(
            `${file}, ${what}: not one clear Error naming the file: ${String((err as Error)?.constructor?.name)}: ${String((err as Error)?.message).slice(0, 300)}`,
          );
        }
        continue;
      }
      if (Date.now() - t0 > 2000) throw new Error(`${file}, ${what}: took ${Date.now() - t0} ms to decode`);
      if (trial < 30) throw new Error(`${file}, ${what}: a truncated file decoded without an error`);
      // the legacy .pth format is raw storages after pickles: no checksum
      if (CHECKED.has(ext) && !/legacy/.test(file)) {
        // checksummed formats: a change either does not matter (a date, an ignored field) or is an error
        if (JSON.stringify(canonical(result)) !== reference)
          throw new Error(`${file}, ${what}: decoded to something else without an error`);
      } else {
        wellFormed(result); // .npy and safetensors carry no checksum: changed data bytes are changed values
      }
    }
    expect(errors).toBeGreaterThanOrEqual(30);
  });
});
