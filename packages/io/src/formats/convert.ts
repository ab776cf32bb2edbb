import type { ArrayDType, ArrayStorage, NdArray } from '../array';

/** Bytes per element of each dtype. */
export const DTYPE_SIZE: Readonly<Record<ArrayDType, number>> = {
  float64: 8,
  float32: 4,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

/** Every dtype an NdArray can hold, for validation. */
export const ALL_DTYPES: readonly ArrayDType[] = Object.keys(DTYPE_SIZE) as ArrayDType[];

/** True where this machine stores multi-byte numbers least significant byte first. */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Returns a copy of `bytes` in a fresh buffer (Node's Buffer#slice would share memory instead). */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}

/** Returns the number of elements of `shape` (1 for a scalar shape []). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Returns the row-major (C order) element strides of `shape`. */
export function rowMajorStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) strides[i] = (strides[i + 1] ?? 1) * (shape[i + 1] ?? 1);
  return strides;
}

/** Returns true when `shape` is a list of non-negative safe integers. */
export function isValidShape(shape: unknown): shape is number[] {
  return Array.isArray(shape) && shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0);
}

/** Allocates a zeroed array of `n` elements for `dtype`. */
export function allocate<D extends ArrayDType>(dtype: D, n: number): ArrayStorage[D] {
  return fromBytes(dtype, new Uint8Array(n * DTYPE_SIZE[dtype]));
}

/**
 * Wraps bytes in host byte order as the typed array of `dtype`. The bytes are used in place
 * when they are aligned and fill their own buffer, else copied (typed arrays need alignment).
 */
export function fromBytes<D extends ArrayDType>(dtype: D, bytes: Uint8Array): ArrayStorage[D] {
  const size = DTYPE_SIZE[dtype];
  if (bytes.byteLength % size !== 0) {
    throw new Error(`${bytes.byteLength} bytes is not a whole number of ${dtype} elements (${size} bytes each)`);
  }
  const own = bytes.byteOffset % size === 0 ? bytes : copyBytes(bytes);
  const { buffer, byteOffset } = own;
  const n = own.byteLength / size;
  // The casts pair each dtype with the typed array ArrayStorage names for it.
  const make: { [K in ArrayDType]: () => ArrayStorage[K] } = {
    float64: () => new Float64Array(buffer, byteOffset, n),
    float32: () => new Float32Array(buffer, byteOffset, n),
    float16: () => new Uint16Array(buffer, byteOffset, n),
    bfloat16: () => new Uint16Array(buffer, byteOffset, n),
    int64: () => new BigInt64Array(buffer, byteOffset, n),
    int32: () => new Int32Array(buffer, byteOffset, n),
    int16: () => new Int16Array(buffer, byteOffset, n),
    int8: () => new Int8Array(buffer, byteOffset, n),
    uint8: () => new Uint8Array(buffer, byteOffset, n),
    bool: () => new Uint8Array(buffer, byteOffset, n),
  };
  return make[dtype]();
}

/** Returns a byte view (no copy) of an array's elements, in host byte order. */
export function bytesOf(arr: NdArray): Uint8Array {
  return new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength);
}

/** Reverses the bytes of each `size`-byte element in place (a byte-order swap). */
export function swapBytes(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i + size <= bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a] ?? 0;
      bytes[a] = bytes[b] ?? 0;
      bytes[b] = t;
    }
  }
}

/**
 * Decodes raw element bytes stored in the given byte order into a fresh NdArray (always a copy,
 * so the result never aliases a file buffer). bool bytes are normalised to 0/1.
 */
export function decodeElements<D extends ArrayDType>(dtype: D, shape: number[], bytes: Uint8Array, littleEndian: boolean): NdArray<D> {
  const copy = copyBytes(bytes);
  if (littleEndian !== HOST_LITTLE_ENDIAN) swapBytes(copy, DTYPE_SIZE[dtype]);
  if (dtype === 'bool') for (let i = 0; i < copy.length; i++) copy[i] = copy[i] ? 1 : 0;
  return { dtype, shape, data: fromBytes(dtype, copy) };
}

/**
 * Returns an NdArray over raw element bytes stored in the given byte order: a view of `bytes` (no
 * copy: it shares their memory) when they are in host byte order, aligned for the dtype and, for
 * bool, all 0 or 1; otherwise a converted copy, whose size `charge` is told first (a read budget).
 */
export function elementsInPlace<D extends ArrayDType>(
  dtype: D,
  shape: number[],
  bytes: Uint8Array,
  littleEndian: boolean,
  charge: (bytes: number) => void,
): NdArray<D> {
  const size = DTYPE_SIZE[dtype];
  const inPlace =
    (littleEndian === HOST_LITTLE_ENDIAN || size === 1) &&
    bytes.byteOffset % size === 0 &&
    (dtype !== 'bool' || bytes.every((b) => b <= 1));
  if (inPlace) return { dtype, shape, data: fromBytes(dtype, bytes) };
  charge(bytes.length);
  return decodeElements(dtype, shape, bytes, littleEndian);
}

/** Returns an array's element bytes in little-endian order (a view where the host is little-endian). */
export function littleEndianBytes(arr: NdArray): Uint8Array {
  const bytes = bytesOf(arr);
  if (HOST_LITTLE_ENDIAN) return bytes;
  const copy = copyBytes(bytes);
  swapBytes(copy, DTYPE_SIZE[arr.dtype]);
  return copy;
}

const TYPED_ARRAY_OF: { [K in ArrayDType]: new (n: number) => ArrayStorage[K] } = {
  float64: Float64Array,
  float32: Float32Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  int64: BigInt64Array,
  int32: Int32Array,
  int16: Int16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

/** Throws unless `arr` is a well-formed NdArray: known dtype, valid shape, matching typed array and length. */
export function checkNdArray(arr: NdArray, where: string): void {
  if (!ALL_DTYPES.includes(arr.dtype)) throw new Error(`${where}: unknown dtype ${String(arr.dtype)}`);
  if (!isValidShape(arr.shape)) throw new Error(`${where}: shape ${JSON.stringify(arr.shape)} is not a list of non-negative integers`);
  const ctor = TYPED_ARRAY_OF[arr.dtype];
  if (!(arr.data instanceof ctor)) {
    throw new Error(`${where}: dtype ${arr.dtype} needs its data in a ${ctor.name}, got ${arr.data?.constructor?.name ?? typeof arr.data}`);
  }
  const n = numel(arr.shape);
  if (arr.data.length !== n) {
    throw new Error(`${where}: shape [${arr.shape.join(', ')}] needs ${n} elements, data has ${arr.data.length}`);
  }
}

/** Returns true when a strided view of `shape` reads consecutive elements in row-major order. */
export function isContiguous(shape: readonly number[], strides: readonly number[]): boolean {
  return rowMajorStrides(shape).every((s, k) => s === strides[k] || (shape[k] ?? 0) === 1);
}

/**
 * Copies a strided view of `src` (elements of `size` bytes) into a new row-major byte array:
 * element (i0, i1, ...) comes from element offset + Σ ik·strides[k]. Callers check bounds.
 */
export function gatherStrided(
  src: Uint8Array,
  size: number,
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
): Uint8Array {
  const n = numel(shape);
  const out = new Uint8Array(n * size);
  if (n === 0) return out;
  if (isContiguous(shape, strides)) {
    out.set(src.subarray(offset * size, (offset + n) * size));
    return out;
  }
  // Walk the output in row-major order: an odometer over the outer indices, a tight loop over the
  // last one (a 2^27-element expand takes a second, not minutes of per-element subarray calls).
  const rank = shape.length;
  const inner = shape[rank - 1] ?? 1;
  const innerStep = (strides[rank - 1] ?? 0) * size;
  const index = new Array<number>(rank).fill(0);
  let srcElem = offset;
  let o = 0;
  for (let row = 0; row < n / inner; row++) {
    let from = srcElem * size;
    if (innerStep === size) {
      out.set(src.subarray(from, from + inner * size), o); // a contiguous row
      o += inner * size;
    } else if (innerStep === 0 && inner > 0) {
      // an expanded row: one element, then doubling copies
      const start = o;
      for (let b = 0; b < size; b++) out[o++] = src[from + b] ?? 0;
      for (let have = size; have < inner * size; have *= 2)
        out.copyWithin(start + have, start, start + Math.min(have, inner * size - have));
      o = start + inner * size;
    } else {
      for (let j = 0; j < inner; j++, from += innerStep) {
        for (let b = 0; b < size; b++) out[o++] = src[from + b] ?? 0;
      }
    }
    for (let k = rank - 2; k >= 0; k--) {
      const stride = strides[k] ?? 0;
      const next = (index[k] ?? 0) + 1;
      if (next < (shape[k] ?? 0)) {
        index[k] = next;
        srcElem += stride;
        break;
      }
      srcElem -= (next - 1) * stride;
      index[k] = 0;
    }
  }
  return out;
}

/** Returns the float value of IEEE half-precision bits. */
export function float16BitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Returns the IEEE half-precision bits nearest to `x` (round half to even; overflow to ±Infinity). */
export function numberToFloat16Bits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00; // 65520 is halfway to the next binade: rounds to infinity
  if (a < 2 ** -14) {
    // Subnormal: units of 2^-24, rounded half to even.
    return sign | roundHalfEven(a * 2 ** 24);
  }
  let exp = Math.floor(Math.log2(a));
  if (2 ** exp > a) exp--; // guard log2 rounding
  if (2 ** (exp + 1) <= a) exp++;
  let mant = roundHalfEven((a / 2 ** exp - 1) * 1024);
  if (mant === 1024) {
    mant = 0;
    exp++;
  }
  if (exp > 15) return sign | 0x7c00;
  return sign | ((exp + 15) << 10) | mant;
}

function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Returns the float value of bfloat16 bits (the top half of a float32). */
export function bfloat16BitsToNumber(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0] ?? 0;
}

/** Returns the bfloat16 bits nearest to `x` (float32 rounding, then round half to even; NaN stays NaN). */
export function numberToBFloat16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0] ?? 0;
  if (Number.isNaN(x)) return ((bits >>> 16) | 0x40) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Returns the elements of any NdArray as a new Float32Array (decoding float16/bfloat16 bits, rounding int64). */
export function toFloat32(arr: NdArray): Float32Array {
  return Float32Array.from(toFloat64(arr));
}

/** Returns the elements of any NdArray as a new Float64Array (decoding float16/bfloat16 bits, int64 via Number). */
export function toFloat64(arr: NdArray): Float64Array {
  const out = new Float64Array(arr.data.length);
  const { data } = arr;
  if (arr.dtype === 'float16') {
    for (let i = 0; i < out.length; i++) out[i] = float16BitsToNumber(Number(data[i]));
  } else if (arr.dtype === 'bfloat16') {
    for (let i = 0; i < out.length; i++) out[i] = bfloat16BitsToNumber(Number(data[i]));
  } else {
    for (let i = 0; i < out.length; i++) out[i] = Number(data[i]);
  }
  return out;
}

/** Returns an NdArray of `dtype` holding `values` (row-major, length numel(shape)), rounding/encoding as needed. */
export function fromNumbers<D extends ArrayDType>(dtype: D, shape: number[], values: ArrayLike<number>): NdArray<D> {
  const n = numel(shape);
  if (values.length !== n) throw new Error(`fromNumbers: shape [${shape.join(', ')}] needs ${n} values, got ${values.length}`);
  const v = Array.from(values);
  const data = allocate(dtype, n);
  if (data instanceof BigInt64Array) {
    for (let i = 0; i < n; i++) data[i] = BigInt(Math.trunc(v[i] ?? 0));
  } else if (dtype === 'float16' || dtype === 'bfloat16') {
    const encode = dtype === 'float16' ? numberToFloat16Bits : numberToBFloat16Bits;
    for (let i = 0; i < n; i++) data[i] = encode(v[i] ?? 0);
  } else if (dtype === 'bool') {
    for (let i = 0; i < n; i++) data[i] = v[i] ? 1 : 0;
  } else {
    data.set(v);
  }
  return { dtype, shape, data };
}
