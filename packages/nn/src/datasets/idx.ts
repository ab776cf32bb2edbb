import * as fs from 'fs';
import * as zlib from 'zlib';

/** An idx array (the MNIST file format): its shape and its values, row-major. */
export interface IdxArray {
  shape: number[];
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const IDX_TYPES: Record<number, { name: string; bytes: number }> = {
  0x08: { name: 'uint8', bytes: 1 },
  0x09: { name: 'int8', bytes: 1 },
  0x0b: { name: 'int16', bytes: 2 },
  0x0c: { name: 'int32', bytes: 4 },
  0x0d: { name: 'float32', bytes: 4 },
  0x0e: { name: 'float64', bytes: 8 },
};

/**
 * Decodes idx bytes (gunzipped first when they start with the gzip magic): returns the shape from
 * the header and the values (big-endian in the file) as a typed array of the file's type.
 */
export function decodeIdx(bytes: Uint8Array, name = 'idx data'): IdxArray {
  let b = bytes;
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) {
    try {
      b = zlib.gunzipSync(b);
    } catch (err) {
      throw new Error(`${name}: not a valid gzip stream (${(err as Error).message})`);
    }
  }
  if (b.length < 4 || b[0] !== 0 || b[1] !== 0)
    throw new Error(
      `${name}: not an idx file (expected magic 00 00 <type> <rank>, got ${Array.from(b.subarray(0, 4), (v) => v.toString(16).padStart(2, '0')).join(' ')})`,
    );
  const type = IDX_TYPES[b[2]!];
  if (!type) throw new Error(`${name}: unknown idx element type 0x${b[2]!.toString(16)}`);
  const rank = b[3]!;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const header = 4 + 4 * rank;
  if (b.length < header) throw new Error(`${name}: truncated idx header (rank ${rank}, ${b.length} bytes)`);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, c) => a * c, 1);
  if (b.length < header + count * type.bytes) {
    throw new Error(
      `${name}: truncated idx data: shape [${shape.join(', ')}] of ${type.name} needs ${header + count * type.bytes} bytes, the file has ${b.length}`,
    );
  }
  let data: IdxArray['data'];
  switch (type.name) {
    case 'uint8':
      data = b.slice(header, header + count);
      break;
    case 'int8':
      data = new Int8Array(b.slice(header, header + count).buffer);
      break;
    case 'int16':
      data = new Int16Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getInt16(header + 2 * i, false);
      break;
    case 'int32':
      data = new Int32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getInt32(header + 4 * i, false);
      break;
    case 'float32':
      data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat32(header + 4 * i, false);
      break;
    default:
      data = new Float64Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat64(header + 8 * i, false);
      break;
  }
  return { shape, data };
}

/** Reads an idx file (`.gz` or plain) and returns its shape and values. */
export function readIdx(file: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  return decodeIdx(bytes, file);
}
