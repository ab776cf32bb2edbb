import { Tensor } from '@gradlens/tensor';
import { fileAccess } from './files';
import type { Int64, TensorProtoMessage } from './proto';
import { toNumber } from './proto';
import { Const } from './values';

/** ONNX TensorProto.DataType codes the importer reads, with their byte sizes. */
const elemInfo: Record<number, { name: string; bytes: number }> = {
  1: { name: 'FLOAT', bytes: 4 },
  2: { name: 'UINT8', bytes: 1 },
  3: { name: 'INT8', bytes: 1 },
  4: { name: 'UINT16', bytes: 2 },
  5: { name: 'INT16', bytes: 2 },
  6: { name: 'INT32', bytes: 4 },
  7: { name: 'INT64', bytes: 8 },
  9: { name: 'BOOL', bytes: 1 },
  10: { name: 'FLOAT16', bytes: 2 },
  16: { name: 'BFLOAT16', bytes: 2 },
  11: { name: 'DOUBLE', bytes: 8 },
  12: { name: 'UINT32', bytes: 4 },
  13: { name: 'UINT64', bytes: 8 },
};

/** The ONNX name of a data type code ('FLOAT', 'INT64', …, or 'type 8'). */
export function dataTypeName(code: number): string {
  return elemInfo[code]?.name ?? (code === 8 ? 'STRING' : `type ${code}`);
}

/** Where external_data files may be read from: the model's folder (null when the model came as bytes). */
export interface TensorSource {
  baseDir: string | null;
  /**
   * The model's bytes were read by loadOnnx (not lent by the caller), so a misaligned float32 raw_data
   * may be moved back onto a 4-byte boundary in place, over its own field tag and length, instead of copied.
   */
  ownsBytes?: boolean;
}

/**
 * A float32 view of `raw` without a copy where possible: as is when aligned; else, when the bytes are
 * ours and the field's tag and length before the data (1 + 2 or more bytes when the data is ≥ 128 bytes)
 * cover the shift, the data is moved back onto the boundary, over them (decoded already, and read by no
 * one else), and `t.rawData` is pointed at the moved bytes so a later read sees them; else one copy.
 */
function float32View(t: TensorProtoMessage, raw: Uint8Array, n: number, source: TensorSource): Float32Array {
  const k = raw.byteOffset % 4;
  if (k === 0) return new Float32Array(raw.buffer, raw.byteOffset, n);
  if (source.ownsBytes && t.dataLocation !== 1 && raw === t.rawData && raw.length >= 128) {
    new Uint8Array(raw.buffer).copyWithin(raw.byteOffset - k, raw.byteOffset, raw.byteOffset + raw.length);
    t.rawData = new Uint8Array(raw.buffer, raw.byteOffset - k, raw.length);
    return new Float32Array(raw.buffer, raw.byteOffset - k, n);
  }
  return new Float32Array(new Uint8Array(raw).buffer, 0, n);
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** bfloat16 bits: the top half of a float32. */
function bfloatToFloat(h: number): number {
  const b = new DataView(new ArrayBuffer(4));
  b.setUint32(0, (h & 0xffff) << 16);
  return b.getFloat32(0);
}

/** Reads a tensor's external data (its `location`, `offset`, `length` entries) through the platform's file access. */
function readExternal(t: TensorProtoMessage, source: TensorSource, expected: number): Uint8Array {
  const entry = (k: string) => t.externalData.find((e) => e.key === k)?.value;
  const location = entry('location');
  const what = `tensor '${t.name}'`;
  if (!location) throw new Error(`${what} has external data with no location`);
  if (!source.baseDir)
    throw new Error(
      `${what} keeps its data in the external file '${location}'; load the model from its file path so the file can be found`,
    );
  return fileAccess(`${what}'s external data`).readExternal(
    source.baseDir,
    { location, offset: entry('offset'), length: entry('length') },
    expected,
    what,
  );
}

/** The tensor's dims, checked: non-negative integers whose product is a safe size. */
export function tensorDims(dims: readonly Int64[], what: string): number[] {
  const out = dims.map((d) => toNumber(d));
  if (out.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new Error(`${what} has invalid dims [${out.join(', ')}]`);
  const n = out.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(n) || n > 2 ** 31) throw new Error(`${what} has ${n} elements, more than one tensor can hold`);
  return out;
}

/**
 * A TensorProto as a graph value: float tensors as gradlens Tensors (float32 data as a view into the
 * file's bytes, aligned in place when loadOnnx read them, so weights are not copied), integer and bool
 * tensors as constants.
 */
export function readTensorProto(t: TensorProtoMessage, source: TensorSource): Tensor | Const {
  const what = `tensor '${t.name}'`;
  const info = elemInfo[t.dataType];
  if (!info) throw new Error(`${what} has data type ${dataTypeName(t.dataType)}, which gradlens does not read`);
  const shape = tensorDims(t.dims, what);
  const n = shape.reduce((a, b) => a * b, 1);
  let raw: Uint8Array | null = null;
  if (t.dataLocation === 1) raw = readExternal(t, source, n * info.bytes);
  else if (t.rawData && t.rawData.length > 0) raw = t.rawData;
  if (raw) {
    if (raw.length !== n * info.bytes)
      throw new Error(`${what} holds ${raw.length} bytes of data, its shape [${shape.join(', ')}] of ${info.name} needs ${n * info.bytes}`);
    const view = <T>(Ctor: { new (b: ArrayBufferLike, o: number, n: number): T; BYTES_PER_ELEMENT: number }): T =>
      raw!.byteOffset % Ctor.BYTES_PER_ELEMENT === 0
        ? new Ctor(raw!.buffer, raw!.byteOffset, n)
        : new Ctor(new Uint8Array(raw!).buffer, 0, n); /* unaligned: one copy (Buffer#slice would be a view) */
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    switch (t.dataType) {
      case 1:
        return new Tensor(float32View(t, raw, n, source), shape, 'float32');
      case 11:
        return new Tensor(view(Float64Array), shape, 'float64');
      case 10:
        return new Tensor(
          Float32Array.from({ length: n }, (_, i) => halfToFloat(dv.getUint16(2 * i, true))),
          shape,
          'float32',
        );
      case 16:
        return new Tensor(
          Float32Array.from({ length: n }, (_, i) => bfloatToFloat(dv.getUint16(2 * i, true))),
          shape,
          'float32',
        );
      case 9:
        return new Const(
          Array.from(raw, (v) => (v ? 1 : 0)),
          shape,
          'bool',
        );
      default: {
        const get = (i: number): number => {
          switch (t.dataType) {
            case 2:
              return dv.getUint8(i);
            case 3:
              return dv.getInt8(i);
            case 4:
              return dv.getUint16(2 * i, true);
            case 5:
              return dv.getInt16(2 * i, true);
            case 6:
              return dv.getInt32(4 * i, true);
            case 12:
              return dv.getUint32(4 * i, true);
            case 7:
              return toNumber(Number(dv.getBigInt64(8 * i, true)));
            default:
              return toNumber(Number(dv.getBigUint64(8 * i, true)));
          }
        };
        return new Const(
          Array.from({ length: n }, (_, i) => get(i)),
          shape,
          'int',
          t.dataType,
        );
      }
    }
  }
  const field: ArrayLike<number | Int64> =
    t.dataType === 1
      ? t.floatData
      : t.dataType === 11
        ? t.doubleData
        : t.dataType === 7
          ? t.int64Data
          : t.dataType === 13 || t.dataType === 12
            ? t.uint64Data.length
              ? t.uint64Data
              : t.int32Data
            : t.int32Data;
  if (field.length !== n) throw new Error(`${what} holds ${field.length} values, its shape [${shape.join(', ')}] needs ${n}`);
  const nums = Array.from(field, (v) => (typeof v === 'number' ? v : toNumber(v)));
  switch (t.dataType) {
    case 1:
      return new Tensor(Float32Array.from(nums), shape, 'float32');
    case 10:
      return new Tensor(Float32Array.from(nums, halfToFloat), shape, 'float32');
    case 16:
      return new Tensor(Float32Array.from(nums, bfloatToFloat), shape, 'float32');
    case 11:
      return new Tensor(Float64Array.from(nums), shape, 'float64');
    case 9:
      return new Const(
        nums.map((v) => (v ? 1 : 0)),
        shape,
        'bool',
      );
    default:
      return new Const(nums, shape, 'int', t.dataType);
  }
}
