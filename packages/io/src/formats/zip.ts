import { zlib } from '../platform/zlib';
import { ReadBudget } from './budget';
import { crc32 } from './crc32';
import { shown } from './record';

/**
 * A small zip reader and writer: just what .npz and PyTorch .pth files need (stored and deflated
 * entries, zip64 records). Sizes come from the central directory, so entries written with data
 * descriptors or zip64 local extras (numpy does both) read the same way.
 */

/** One file in a zip archive, as its central directory describes it. */
export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflated. */
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
  /** Where the entry's (compressed) bytes start in the archive. */
  dataOffset: number;
}

/** A zip archive held in memory: its entries and a way to read each. */
export interface ZipArchive {
  /** The file name used in error messages. */
  file: string;
  entries: ZipEntry[];
  /** Returns the entry called `name`, or undefined. */
  get(name: string): ZipEntry | undefined;
  /**
   * Returns the uncompressed, CRC-checked bytes of an entry: a view into the archive when stored;
   * when deflated, inflated with an output cap, its declared size counted against the budget first.
   */
  read(entry: ZipEntry | string): Uint8Array;
}

/** A file to put in a zip archive. */
export interface ZipInput {
  name: string;
  data: Uint8Array;
  /** Deflate this entry (default: store). */
  compress?: boolean;
}

/** Options of encodeZip. */
export interface ZipWriteOptions {
  /** Write zip64 records even when the sizes do not need them (they are written anyway when they do). */
  zip64?: boolean;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;
const DOS_DATE_1980 = (1 << 5) | 1; // 1980-01-01, fixed so the same input gives the same bytes

/** Returns true when `bytes` start with a zip local file header ("PK\x03\x04"). */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

/**
 * Parses a zip archive's central directory and checks that no two entries share bytes (a zip bomb
 * points many entries at one deflated blob); entries are read lazily with `archive.read(name)`,
 * inflation counted against `budget` (default: a fresh one of the limits in force).
 */
export function readZip(bytes: Uint8Array, file = '<bytes>', budget: ReadBudget = new ReadBudget(file)): ZipArchive {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (what: string): never => {
    throw new Error(`${file}: not a valid zip archive: ${what}`);
  };
  const u16 = (p: number): number => (p + 2 <= bytes.length ? view.getUint16(p, true) : fail(`record at byte ${p} runs past the end`));
  const u32 = (p: number): number => (p + 4 <= bytes.length ? view.getUint32(p, true) : fail(`record at byte ${p} runs past the end`));
  const u64 = (p: number): number => {
    if (p + 8 > bytes.length) fail(`record at byte ${p} runs past the end`);
    const v = view.getBigUint64(p, true);
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : fail(`64-bit field at byte ${p} is too large (${v})`);
  };

  // The end-of-central-directory record is the last 22 bytes, unless a comment (up to 64 KiB) follows it.
  let eocd = -1;
  for (let p = bytes.length - 22; p >= 0 && p >= bytes.length - 22 - U16_MAX; p--) {
    if (view.getUint32(p, true) === SIG_EOCD && p + 22 + view.getUint16(p + 20, true) <= bytes.length) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) fail('no end-of-central-directory record (the file is truncated or not a zip)');
  let count = u16(eocd + 10);
  let cdSize = u32(eocd + 12);
  let cdOffset = u32(eocd + 16);
  let cdEnd = eocd;
  if (eocd >= 20 && u32(eocd - 20) === SIG_EOCD64_LOCATOR) {
    const p = u64(eocd - 12);
    if (u32(p) !== SIG_EOCD64) fail(`zip64 end record expected at byte ${p}`);
    count = u64(p + 32);
    cdSize = u64(p + 40);
    cdOffset = u64(p + 48);
    cdEnd = p;
  }
  if (cdOffset + cdSize > cdEnd) fail(`central directory (bytes ${cdOffset}..${cdOffset + cdSize}) overlaps its end record at ${cdEnd}`);

  const decoder = new TextDecoder('utf-8');
  const entries: ZipEntry[] = [];
  const byName = new Map<string, ZipEntry>();
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdOffset + cdSize || u32(p) !== SIG_CENTRAL) fail(`central directory entry ${i} expected at byte ${p}`);
    const flags = u16(p + 8);
    const method = u16(p + 10);
    const nameLen = u16(p + 28);
    const extraLen = u16(p + 30);
    const commentLen = u16(p + 32);
    const next = p + 46 + nameLen + extraLen + commentLen;
    if (next > cdOffset + cdSize) fail(`central directory entry ${i} runs past the directory`);
    const name = decoder.decode(bytes.subarray(p + 46, p + 46 + nameLen));
    const nameShown = shown(name);
    let size = u32(p + 24);
    let compressedSize = u32(p + 20);
    let localHeaderOffset = u32(p + 42);
    // Zip64 extra field: the 64-bit values of whichever 32-bit fields are saturated, in this order.
    for (let e = p + 46 + nameLen; e + 4 <= p + 46 + nameLen + extraLen;) {
      const id = u16(e);
      const len = u16(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        const take = (): number => {
          if (q + 8 > e + 4 + len) fail(`zip64 extra field of ${nameShown} is too short`);
          const v = u64(q);
          q += 8;
          return v;
        };
        if (size === U32_MAX) size = take();
        if (compressedSize === U32_MAX) compressedSize = take();
        if (localHeaderOffset === U32_MAX) localHeaderOffset = take();
      }
      e += 4 + len;
    }
    if (flags & 1) fail(`${nameShown} is encrypted`);
    if (method !== 0 && method !== 8)
      fail(`${nameShown} uses compression method ${method} (only stored (0) and deflate (8) are supported)`);
    if (method === 0 && size !== compressedSize) fail(`stored entry ${nameShown} has size ${size} but compressed size ${compressedSize}`);
    if (byName.has(name)) fail(`entry ${nameShown} appears twice`);
    const lh = localHeaderOffset;
    if (lh + 30 > cdOffset || u32(lh) !== SIG_LOCAL) fail(`local header of ${nameShown} expected at byte ${lh}`);
    const dataOffset = lh + 30 + u16(lh + 26) + u16(lh + 28);
    // The name is the only field the reader uses from both headers: they must agree (no checksum covers names).
    if (u16(lh + 26) !== nameLen || bytes.subarray(lh + 30, lh + 30 + nameLen).some((b, k) => b !== bytes[p + 46 + k])) {
      fail(`local header of ${nameShown} at byte ${lh} names a different entry (corrupted archive)`);
    }
    if (dataOffset + compressedSize > cdOffset) {
      fail(`data of ${nameShown} (bytes ${dataOffset}..${dataOffset + compressedSize}) runs into the central directory at ${cdOffset}`);
    }
    const entry: ZipEntry = { name, method, crc32: u32(p + 16), compressedSize, size, localHeaderOffset, dataOffset };
    entries.push(entry);
    byName.set(name, entry);
    p = next;
  }
  if (p !== cdOffset + cdSize)
    fail(`the central directory holds ${count} entries in ${p - cdOffset} bytes, its end record says ${cdSize} bytes`);

  // Entries (local header to end of data) must not share bytes: sorted by start, each begins after the last ended.
  let prev: ZipEntry | undefined;
  for (const e of [...entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset)) {
    if (prev && e.localHeaderOffset < prev.dataOffset + prev.compressedSize) {
      fail(
        `entries ${shown(prev.name)} and ${shown(e.name)} overlap (bytes ${e.localHeaderOffset}..${prev.dataOffset + prev.compressedSize}); ` +
          'an archive whose entries share data is a zip bomb or corrupted',
      );
    }
    prev = e;
  }

  const read = (which: ZipEntry | string): Uint8Array => {
    const entry = typeof which === 'string' ? byName.get(which) : which;
    if (!entry || byName.get(entry.name) !== entry) return fail(`no entry named ${shown(typeof which === 'string' ? which : which.name)}`);
    const entryShown = shown(entry.name);
    const raw = bytes.subarray(entry.dataOffset, entry.dataOffset + entry.compressedSize);
    let data = raw;
    if (entry.method === 8) {
      budget.take(entry.size, `inflating zip entry ${entryShown}`);
      try {
        // The cap makes a stream that inflates past the declared size fail instead of growing.
        data = zlib().inflateRaw(raw, Math.max(1, entry.size));
      } catch (err) {
        fail(`cannot inflate ${entryShown}: ${(err as Error).message}`);
      }
    }
    if (data.length !== entry.size) fail(`${entryShown} should hold ${entry.size} bytes, holds ${data.length}`);
    const crc = crc32(data);
    if (crc !== entry.crc32) fail(`CRC-32 of ${entryShown} is ${hex(crc)}, the directory says ${hex(entry.crc32)} (corrupted data)`);
    return data;
  };
  return { file, entries, get: (name) => byName.get(name), read };
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** Returns the bytes of a zip archive holding `files` in order (stored or deflated; zip64 where needed). */
export function encodeZip(files: readonly ZipInput[], options: ZipWriteOptions = {}): Uint8Array {
  const encoder = new TextEncoder();
  const chunks: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(f.name)) throw new Error(`zip: entry ${f.name} given twice`);
    seen.add(f.name);
    const name = encoder.encode(f.name);
    if (name.length > U16_MAX) throw new Error(`zip: entry name ${f.name.slice(0, 40)}... is longer than 65535 bytes`);
    const method = f.compress ? 8 : 0;
    const body = f.compress ? zlib().deflateRaw(f.data) : f.data;
    const crc = crc32(f.data);
    const zip64 = options.zip64 === true || body.length >= U32_MAX || f.data.length >= U32_MAX || offset >= U32_MAX;
    const flags = /[^\x20-\x7e]/.test(f.name) ? 0x800 : 0; // bit 11: the name is UTF-8
    const version = zip64 ? 45 : 20;

    const local = new Uint8Array(30 + name.length + (zip64 ? 20 : 0));
    const lv = new DataView(local.buffer);
    lv.setUint32(0, SIG_LOCAL, true);
    lv.setUint16(4, version, true);
    lv.setUint16(6, flags, true);
    lv.setUint16(8, method, true);
    lv.setUint16(10, 0, true);
    lv.setUint16(12, DOS_DATE_1980, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, zip64 ? U32_MAX : body.length, true);
    lv.setUint32(22, zip64 ? U32_MAX : f.data.length, true);
    lv.setUint16(26, name.length, true);
    lv.setUint16(28, zip64 ? 20 : 0, true);
    local.set(name, 30);
    if (zip64) {
      lv.setUint16(30 + name.length, 0x0001, true);
      lv.setUint16(32 + name.length, 16, true);
      lv.setBigUint64(34 + name.length, BigInt(f.data.length), true);
      lv.setBigUint64(42 + name.length, BigInt(body.length), true);
    }

    const cen = new Uint8Array(46 + name.length + (zip64 ? 28 : 0));
    const cv = new DataView(cen.buffer);
    cv.setUint32(0, SIG_CENTRAL, true);
    cv.setUint16(4, version, true);
    cv.setUint16(6, version, true);
    cv.setUint16(8, flags, true);
    cv.setUint16(10, method, true);
    cv.setUint16(12, 0, true);
    cv.setUint16(14, DOS_DATE_1980, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, zip64 ? U32_MAX : body.length, true);
    cv.setUint32(24, zip64 ? U32_MAX : f.data.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint16(30, zip64 ? 28 : 0, true);
    cv.setUint32(38, 0o100644 << 16, true); // unix permissions rw-r--r--
    cv.setUint32(42, zip64 ? U32_MAX : offset, true);
    cen.set(name, 46);
    if (zip64) {
      cv.setUint16(46 + name.length, 0x0001, true);
      cv.setUint16(48 + name.length, 24, true);
      cv.setBigUint64(50 + name.length, BigInt(f.data.length), true);
      cv.setBigUint64(58 + name.length, BigInt(body.length), true);
      cv.setBigUint64(66 + name.length, BigInt(offset), true);
    }
    chunks.push(local, body);
    central.push(cen);
    offset += local.length + body.length;
  }

  const cdOffset = offset;
  const cdSize = central.reduce((s, c) => s + c.length, 0);
  const zip64End = options.zip64 === true || files.length >= U16_MAX || cdOffset >= U32_MAX || cdSize >= U32_MAX;
  const tail: Uint8Array[] = [];
  if (zip64End) {
    const rec = new Uint8Array(56 + 20);
    const rv = new DataView(rec.buffer);
    rv.setUint32(0, SIG_EOCD64, true);
    rv.setBigUint64(4, 44n, true); // size of the rest of this record
    rv.setUint16(12, 45, true);
    rv.setUint16(14, 45, true);
    rv.setBigUint64(24, BigInt(files.length), true);
    rv.setBigUint64(32, BigInt(files.length), true);
    rv.setBigUint64(40, BigInt(cdSize), true);
    rv.setBigUint64(48, BigInt(cdOffset), true);
    rv.setUint32(56, SIG_EOCD64_LOCATOR, true);
    rv.setBigUint64(64, BigInt(cdOffset + cdSize), true);
    rv.setUint32(72, 1, true);
    tail.push(rec);
  }
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, SIG_EOCD, true);
  ev.setUint16(8, zip64End ? U16_MAX : files.length, true);
  ev.setUint16(10, zip64End ? U16_MAX : files.length, true);
  ev.setUint32(12, zip64End ? U32_MAX : cdSize, true);
  ev.setUint32(16, zip64End ? U32_MAX : cdOffset, true);
  tail.push(end);

  const all = [...chunks, ...central, ...tail];
  const out = new Uint8Array(all.reduce((s, c) => s + c.length, 0));
  let p = 0;
  for (const c of all) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}
