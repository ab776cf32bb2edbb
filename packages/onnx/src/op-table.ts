import type { OpTable } from './op-context';
import { elementwiseOps } from './ops-elementwise';
import { nnOps } from './ops-nn';
import { resizeOps } from './ops-resize';
import { shapeOps } from './ops-shape';

/** Every ONNX op (default domain) the importer replays, by op type. */
export const onnxOps: OpTable = { ...elementwiseOps, ...shapeOps, ...nnOps, ...resizeOps };

/** The default-domain opsets the importer accepts. */
export const OPSET_RANGE = { min: 7, max: 21 } as const;

/** The op types the importer supports, sorted. */
export function supportedOps(): string[] {
  return Object.keys(onnxOps).sort();
}
