/** Element types a weight or array file can hold. */
export type ArrayDType = 'float64' | 'float32' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/** The typed array that holds each dtype's elements in memory. float16/bfloat16 keep their raw bits. */
export interface ArrayStorage {
  float64: Float64Array;
  float32: Float32Array;
  float16: Uint16Array;
  bfloat16: Uint16Array;
  int64: BigInt64Array;
  int32: Int32Array;
  int16: Int16Array;
  int8: Int8Array;
  uint8: Uint8Array;
  bool: Uint8Array;
}

/** A plain n-dimensional array, row-major: what every io reader returns and every writer takes. */
export interface NdArray<D extends ArrayDType = ArrayDType> {
  dtype: D;
  shape: number[];
  data: ArrayStorage[D];
}
