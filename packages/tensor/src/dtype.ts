/** Element types a tensor can hold. Floats are differentiable; int32 holds indices, bool holds masks. */
export type DType = 'float32' | 'float64' | 'int32' | 'bool';

/** The typed array behind each dtype. */
export interface DTypeArray {
  float32: Float32Array;
  float64: Float64Array;
  int32: Int32Array;
  bool: Uint8Array;
}
export type TypedArray = DTypeArray[DType];

/** The methods of a typed array that write into it. */
type Writers = 'set' | 'fill' | 'copyWithin' | 'reverse' | 'sort';
/** A typed array that can be read but not written through (index writes and writers are type errors). */
export type ReadonlyOf<A> = Readonly<Omit<A, Writers>>;
/** A tensor's values as `Tensor.values()` shares them: read-only (change a tensor with `assign`). */
export type ReadonlyTypedArray = { [D in DType]: ReadonlyOf<DTypeArray[D]> }[DType];
export type FloatArray = Float32Array | Float64Array;
export type FloatDType = 'float32' | 'float64';

const rank: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 3 };

/** Returns a zero-filled array of `size` elements for `dtype`. */
export function allocate<D extends DType>(dtype: D, size: number): DTypeArray[D];
export function allocate(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(size);
    case 'float64':
      return new Float64Array(size);
    case 'int32':
      return new Int32Array(size);
    case 'bool':
      return new Uint8Array(size);
  }
}

/** The dtype two operands combine to, as PyTorch promotes them (bool < int32 < float32 < float64). */
export function promote(a: DType, b: DType): DType {
  return rank[a] >= rank[b] ? a : b;
}

/** The dtype a floating-point result takes: the input's if it is a float, float32 otherwise. */
export function floatOf(dtype: DType): FloatDType {
  return dtype === 'float64' ? 'float64' : 'float32';
}

export function isFloat(dtype: DType): dtype is FloatDType {
  return dtype === 'float32' || dtype === 'float64';
}

/** The dtype of a typed array handed in by a user. */
export function dtypeOfArray(values: TypedArray): DType {
  if (values instanceof Float32Array) return 'float32';
  if (values instanceof Float64Array) return 'float64';
  if (values instanceof Int32Array) return 'int32';
  return 'bool';
}
