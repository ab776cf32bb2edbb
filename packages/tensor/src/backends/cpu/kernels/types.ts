/** Element storage the CPU kernels accept: float32 or float64 typed arrays. */
export type FloatArray = Float32Array | Float64Array;

/**
 * Fully-resolved conv2d geometry (NCHW activations, OIHW weights). The op layer validates it and
 * computes outHeight/outWidth; kernels trust it. Zero padding is symmetric, as PyTorch's.
 */
export interface Conv2dGeometry {
  batch: number;
  inChannels: number;
  inHeight: number;
  inWidth: number;
  outChannels: number;
  kernelHeight: number;
  kernelWidth: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  dilationH: number;
  dilationW: number;
  groups: number;
  outHeight: number;
  outWidth: number;
}

/** Options of the batched matmul kernel: C[b] = op(A[b]) · op(B[b]), row-major. */
export interface MatmulOptions {
  batch: number;
  m: number;
  n: number;
  k: number;
  /** A[b] is stored [k, m] instead of [m, k]. */
  transA: boolean;
  /** B[b] is stored [n, k] instead of [k, n]. */
  transB: boolean;
  /** Offset between consecutive A[b]; 0 broadcasts one matrix over the batch. */
  aBatchStride: number;
  /** Offset between consecutive B[b]; 0 broadcasts one matrix over the batch. */
  bBatchStride: number;
  /** n values added to every row of the result (a linear layer's bias), as a float32 add after the product. */
  bias?: FloatArray | null;
}

/** Fully-resolved pooling geometry (NCHW); outHeight/outWidth already include ceil mode. */
export interface Pool2dGeometry {
  batch: number;
  channels: number;
  inHeight: number;
  inWidth: number;
  kernelH: number;
  kernelW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  dilationH: number;
  dilationW: number;
  outHeight: number;
  outWidth: number;
}

/** Geometry of adaptive pooling (NCHW): PyTorch bins start=floor(o*in/out), end=ceil((o+1)*in/out). */
export interface AdaptivePoolGeometry {
  batch: number;
  channels: number;
  inHeight: number;
  inWidth: number;
  outHeight: number;
  outWidth: number;
}

/**
 * Geometry of 2-D upsampling (NCHW). scaleH/scaleW map output to input coordinates as PyTorch's
 * upsample kernels compute them: (in-1)/(out-1) with alignCorners, else 1/scaleFactor when the user
 * gave one, else in/out.
 */
export interface ResizeGeometry {
  batch: number;
  channels: number;
  inHeight: number;
  inWidth: number;
  outHeight: number;
  outWidth: number;
  scaleH: number;
  scaleW: number;
  alignCorners: boolean;
}
