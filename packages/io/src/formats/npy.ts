import type { ArrayDType, NdArray } from '../array';
import { fileAccess } from '../platform/files';
import type { ReadLimits } from '../read-policy';
import { ReadBudget } from './budget';
import { DTYPE_SIZE, checkNdArray, elementsInPlace, gatherStrided, isValidShape, littleEndianBytes, numel } from './convert';
import { parsePyLiteral, type PyLiteral } from './pyliteral';
import { loadSource, type ReadOptions, type Source } from './source';
import { shown, shownJson } from './record';

/** NumPy's .npy format (versions 1.0, 2.0, 3.0): magic, a Python-dict header, then the raw elements. */

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
/** numpy itself refuses headers over 10 000 bytes unless told otherwise; ours are far below this cap. */
const MAX_HEADER = 1 << 20;

// numpy type letter + byte size -> our dtype. bfloat16 has no numpy descr.
const FROM_DESCR: Record<string, ArrayDType> = {
  f8: 'float64',
  f4: 'float32',
  f2: 'float16',
  i8: 'int64',
  i4: 'int32',
  i2: 'int16',
  i1: 'int8',
  u1: 'uint8',
  b1: 'bool',
};
const TO_DESCR: Record<ArrayDType, string | undefined> = {
  float64: '<f8',
  float32: '<f4',
  float16: '<f2',
  bfloat16: undefined,
  int64: '<i8',
  int32: '<i4',
  int16: '<i2',
  int8: '|i1',
  uint8: '|u1',
  bool: '|b1',
};

/** Returns true when `bytes` start with the .npy magic string. */
export function isNpy(bytes: Uint8Array): boolean {
  return MAGIC.every((b, i) => bytes[i] === b);
}

/**
 * Parses .npy bytes into a row-major NdArray (Fortran order and big-endian data are converted). The
 * result is a view of `bytes` (sharing their memory) when the data is aligned, in host byte order and
 * C order; conversions count against the read budget.
 */
export function decodeNpy(bytes: Uint8Array, file = '<bytes>', limits?: Partial<ReadLimits> | ReadBudget): NdArray {
  const budget = limits instanceof ReadBudget ? limits : new ReadBudget(file, limits);
  const fail = (what: string): never => {
    throw new Error(`${file}: not a valid .npy file: ${what}`);
  };
  if (bytes.length < 10 || !isNpy(bytes)) fail('it does not start with the magic string "\\x93NUMPY"');
  const major = bytes[6] ?? 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) fail('header length is cut off');
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else {
    return fail(`format version ${major}.${bytes[7] ?? 0} is not supported (1.0, 2.0 and 3.0 are)`);
  }
  if (headerLen > MAX_HEADER) fail(`header length ${headerLen} is over the ${MAX_HEADER}-byte limit`);
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.length) fail(`header says it is ${headerLen} bytes, only ${bytes.length - headerStart} follow`);
  const headerBytes = bytes.subarray(headerStart, dataStart);
  const headerText = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(headerBytes);

  let header: PyLiteral;
  try {
    header = parsePyLiteral(headerText);
  } catch (err) {
    return fail(`cannot parse header ${shown(headerText.trim())}: ${(err as Error).message}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) return fail('header is not a dict');
  const own = (key: string): PyLiteral | undefined =>
    Object.prototype.hasOwnProperty.call(header, key) ? (header as Record<string, PyLiteral>)[key] : undefined;
  const [descr, fortran, shape] = [own('descr'), own('fortran_order'), own('shape')];
  if (typeof descr !== 'string')
    return fail(`descr ${shownJson(descr ?? null)} is not a simple dtype string (structured arrays are not supported)`);
  if (typeof fortran !== 'boolean') return fail('fortran_order is missing or not True/False');
  if (!isValidShape(shape)) return fail(`shape ${shownJson(shape ?? null)} is not a tuple of non-negative integers`);

  const m = /^([<>|=]?)([a-z])(\d+)$/.exec(descr);
  const code = m ? `${m[2] ?? ''}${m[3] ?? ''}` : '';
  const dtype = m && Object.prototype.hasOwnProperty.call(FROM_DESCR, code) ? FROM_DESCR[code] : undefined;
  if (!m || !dtype) {
    return fail(`dtype ${shown(descr)} has no NdArray equivalent (supported: ${Object.keys(FROM_DESCR).join(', ')})`);
  }
  const size = DTYPE_SIZE[dtype];
  const n = numel(shape);
  const dataBytes = bytes.length - dataStart;
  if (dataBytes !== n * size) {
    fail(`shape (${shown(shape.join(', '))}) of ${dtype} needs ${n * size} data bytes, the file has ${dataBytes}`);
  }
  let raw = bytes.subarray(dataStart);
  const littleEndian = m[1] !== '>';
  if (fortran && shape.length > 1) {
    budget.take(raw.length, `reordering the Fortran-order array of shape (${shape.join(', ')})`);
    // Column-major: the first index varies fastest.
    const strides: number[] = [];
    let s = 1;
    for (const d of shape) {
      strides.push(s);
      s *= d;
    }
    raw = gatherStrided(raw, size, shape, strides, 0);
  }
  return elementsInPlace(dtype, shape, raw, littleEndian, (b) => budget.take(b, `converting ${n} ${dtype} elements`));
}

/** Returns the .npy bytes (version 1.0, or 2.0 for huge headers) of an NdArray, little-endian, C order. */
export function encodeNpy(arr: NdArray, where = 'encodeNpy'): Uint8Array {
  checkNdArray(arr, where);
  const descr = TO_DESCR[arr.dtype];
  if (!descr) throw new Error(`${where}: .npy has no ${arr.dtype} dtype; convert it first (e.g. toFloat32)`);
  const shape = arr.shape.length === 1 ? `(${arr.shape[0] ?? 0},)` : `(${arr.shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const major = header.length + 11 > 0xffff ? 2 : 1;
  const prefix = major === 1 ? 10 : 12;
  // Pad with spaces so the data starts on a 64-byte boundary, and end with a newline.
  header += ' '.repeat((64 - ((prefix + header.length + 1) % 64)) % 64) + '\n';
  const data = littleEndianBytes(arr);
  const out = new Uint8Array(prefix + header.length + data.length);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  out.set(data, prefix + header.length);
  return out;
}

/** Reads a .npy file (or its bytes) into a row-major NdArray (see decodeNpy). */
export function readNpy(src: Source, options: ReadOptions = {}): NdArray {
  const { bytes, file, budget } = loadSource(src, options);
  return decodeNpy(bytes, file, budget);
}

/** Writes an NdArray to a .npy file, atomically. */
export function writeNpy(file: string, arr: NdArray): void {
  fileAccess(`writing ${file}`).writeFileAtomic(file, encodeNpy(arr, file));
}
