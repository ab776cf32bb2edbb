import type { ArrayDType, NdArray } from '../array';
import { fileAccess } from '../platform/files';
import type { ReadLimits } from '../read-policy';
import { ReadBudget } from './budget';
import { DTYPE_SIZE, checkNdArray, elementsInPlace, isValidShape, littleEndianBytes, numel } from './convert';
import { loadSource, type ReadOptions, type Source } from './source';
import { shown, shownJson, setOwn } from './record';

/**
 * The safetensors format: an 8-byte little-endian header length N, N bytes of JSON
 * ({name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {string: string}}), then the
 * little-endian tensor bytes, which the offsets (relative to the end of the header) must cover
 * exactly, with no gaps or overlaps.
 */

/** What a safetensors file holds. */
export interface SafetensorsContent {
  tensors: Record<string, NdArray>;
  /** The `__metadata__` string map ({} when the file has none). */
  metadata: Record<string, string>;
}

const FROM_CODE = new Map<string, ArrayDType>([
  ['F64', 'float64'],
  ['F32', 'float32'],
  ['F16', 'float16'],
  ['BF16', 'bfloat16'],
  ['I64', 'int64'],
  ['I32', 'int32'],
  ['I16', 'int16'],
  ['I8', 'int8'],
  ['U8', 'uint8'],
  ['BOOL', 'bool'],
]);
const TO_CODE: Record<ArrayDType, string> = {
  float64: 'F64',
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  int64: 'I64',
  int32: 'I32',
  int16: 'I16',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};
/** The reference implementation refuses headers over 100 MB; so do we, before parsing. */
const MAX_HEADER = 100_000_000;

/**
 * Parses safetensors bytes, validating the header and every tensor's byte range. Tensors are views
 * of `bytes` (sharing their memory) where aligned; copies (unaligned data, a big-endian host, bool
 * bytes other than 0/1) count against the read budget.
 */
export function decodeSafetensors(bytes: Uint8Array, file = '<bytes>', limits?: Partial<ReadLimits> | ReadBudget): SafetensorsContent {
  const budget = limits instanceof ReadBudget ? limits : new ReadBudget(file, limits);
  const fail = (what: string): never => {
    throw new Error(`${file}: not a valid safetensors file: ${what}`);
  };
  if (bytes.length < 8) fail(`it is ${bytes.length} bytes, too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(Math.min(MAX_HEADER, bytes.length - 8))) {
    fail(`header length ${n64} exceeds the ${bytes.length - 8} bytes after it (or the ${MAX_HEADER}-byte limit)`);
  }
  const n = Number(n64);
  const dataStart = 8 + n;
  budget.take(4 * n, 'parsing the JSON header'); // its strings and objects take a few times its size
  if (bytes[8] !== 0x7b) fail('the JSON header does not start with "{"');
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (err) {
    return fail(`the JSON header does not parse: ${(err as Error).message}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) return fail('the JSON header is not an object');

  const metadata: Record<string, string> = {};
  const spans: { name: string; dtype: ArrayDType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (info === null || typeof info !== 'object' || Array.isArray(info)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__ value ${shown(k)} is ${shownJson(v)}, expected a string`);
        setOwn(metadata, k, v as string);
      }
      continue;
    }
    const where = `tensor ${shownJson(name)}`;
    if (info === null || typeof info !== 'object' || Array.isArray(info)) return fail(`${where}: entry is not an object`);
    const { dtype: code, shape, data_offsets: offsets } = info as Record<string, unknown>;
    const dtype = typeof code === 'string' ? FROM_CODE.get(code) : undefined;
    if (!dtype) return fail(`${where}: dtype ${shownJson(code)} is not supported (expected one of ${[...FROM_CODE.keys()].join(', ')})`);
    if (!isValidShape(shape)) return fail(`${where}: shape ${shownJson(shape)} is not a list of non-negative integers`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0)) {
      return fail(`${where}: data_offsets ${shownJson(offsets)} is not [begin, end]`);
    }
    const [begin, end] = offsets as [number, number];
    const expected = numel(shape) * DTYPE_SIZE[dtype];
    if (end - begin !== expected) {
      fail(`${where}: data_offsets [${begin}, ${end}] span ${end - begin} bytes, shape ${shownJson(shape)} of ${dtype} needs ${expected}`);
    }
    spans.push({ name, dtype, shape, begin, end });
  }

  // The byte buffer must be covered exactly: sorted by offset, each tensor starts where the last ended.
  const dataLen = bytes.length - dataStart;
  let at = 0;
  for (const s of [...spans].sort((a, b) => a.begin - b.begin || a.end - b.end)) {
    if (s.begin !== at) {
      fail(
        `tensor ${shownJson(s.name)}: data_offsets start at ${s.begin}, expected ${at} (tensors must be contiguous, without gaps or overlaps)`,
      );
    }
    if (s.end > dataLen)
      fail(`tensor ${shownJson(s.name)}: data_offsets end at ${s.end}, past the ${dataLen} data bytes (truncated file?)`);
    at = s.end;
  }
  if (at !== dataLen) fail(`tensors cover ${at} data bytes, the file has ${dataLen}`);

  const tensors: Record<string, NdArray> = {};
  for (const s of spans) {
    const raw = bytes.subarray(dataStart + s.begin, dataStart + s.end);
    setOwn(
      tensors,
      s.name,
      elementsInPlace(s.dtype, s.shape, raw, true, (b) => budget.take(b, `copying tensor ${shownJson(s.name)}`)),
    );
  }
  return { tensors, metadata };
}

/** Returns the safetensors bytes of named tensors and an optional string metadata map. */
export function encodeSafetensors(
  tensors: Record<string, NdArray>,
  metadata?: Record<string, string>,
  where = 'encodeSafetensors',
): Uint8Array {
  const names = Object.keys(tensors);
  for (const name of names) {
    if (name === '__metadata__') throw new Error(`${where}: "__metadata__" cannot be a tensor name`);
    const t = tensors[name];
    if (!t) throw new Error(`${where}: tensor ${name} is missing`);
    checkNdArray(t, `${where}: tensor ${name}`);
  }
  // Widest elements first, so each tensor's offset is a multiple of its element size (the reference order).
  names.sort((a, b) => DTYPE_SIZE[tensors[b]?.dtype ?? 'uint8'] - DTYPE_SIZE[tensors[a]?.dtype ?? 'uint8'] || (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`${where}: metadata value ${k} must be a string, got ${typeof v}`);
    }
    setOwn(header, '__metadata__', metadata);
  }
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    const t = tensors[name] as NdArray;
    const bytes = littleEndianBytes(t);
    setOwn(header, name, { dtype: TO_CODE[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes.length] });
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  const jsonBytes0 = new TextEncoder().encode(json);
  json += ' '.repeat((8 - (jsonBytes0.length % 8)) % 8); // pad so the data starts 8-byte aligned
  const jsonBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + jsonBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(jsonBytes.length), true);
  out.set(jsonBytes, 8);
  let p = 8 + jsonBytes.length;
  for (const c of chunks) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}

/** Reads a safetensors file (or its bytes): row-major tensors by name, and the metadata map. */
export function readSafetensors(src: Source, options: ReadOptions = {}): SafetensorsContent {
  const { bytes, file, budget } = loadSource(src, options);
  return decodeSafetensors(bytes, file, budget);
}

/** Writes named tensors (and optional string metadata) to a safetensors file, atomically. */
export function writeSafetensors(file: string, tensors: Record<string, NdArray>, metadata?: Record<string, string>): void {
  fileAccess(`writing ${file}`).writeFileAtomic(file, encodeSafetensors(tensors, metadata, file));
}
