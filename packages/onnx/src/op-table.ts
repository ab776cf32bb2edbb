import type { OpImpl, OpTable, ValueOpImpl, ValueOpTable } from './op-context';
import { contribOps, ortDefaultDomainOps } from './ops-contrib';
import { activationOps } from './ops-activations';
import { convTransposeOps } from './ops-conv-transpose';
import { einsumOps } from './ops-einsum';
import { elementwiseOps } from './ops-elementwise';
import { gridSampleOps } from './ops-grid-sample';
import { indexOps } from './ops-index';
import { layoutOps } from './ops-layout';
import { lossOps } from './ops-loss';
import { nnOps } from './ops-nn';
import { normalizationOps } from './ops-normalization';
import { quantizeOps } from './ops-quantize';
import { randomOps } from './ops-random';
import { signalOps } from './ops-signal';
import { recurrentOps } from './ops-recurrent';
import { reduceOps } from './ops-reduce';
import { resizeOps } from './ops-resize';
import { roiAlignOps } from './ops-roi-align';
import { shapeOps } from './ops-shape';
import { optionalOps, sequenceOps } from './ops-sequence';

/** Every ONNX op (default domain) the importer replays, by op type. */
export const onnxOps: OpTable = {
  ...elementwiseOps,
  ...activationOps,
  ...shapeOps,
  ...layoutOps,
  ...indexOps,
  ...nnOps,
  ...normalizationOps,
  ...reduceOps,
  ...convTransposeOps,
  ...einsumOps,
  ...resizeOps,
  ...gridSampleOps,
  ...roiAlignOps,
  ...quantizeOps,
  ...lossOps,
  ...recurrentOps,
  ...randomOps,
  ...signalOps,
  ...ortDefaultDomainOps,
};

/** The default-domain ops on sequences and optionals (Identity too, which passes them through), by op type. */
export const onnxValueOps: ValueOpTable = { ...sequenceOps, ...optionalOps };

/** The op tables by domain: ONNX's (named '' or 'ai.onnx') and onnxruntime's contrib ops (com.microsoft). */
const DOMAINS: Record<string, OpTable> = { '': onnxOps, 'ai.onnx': onnxOps, 'com.microsoft': contribOps };

/** The importer's implementation of an op of `domain` at the default-domain `opset`, or undefined. */
export function opImpl(domain: string | null | undefined, opType: string, opset: number): OpImpl | ValueOpImpl | undefined {
  const own = (table: Record<string, OpImpl | ValueOpImpl>) =>
    Object.prototype.hasOwnProperty.call(table, opType) ? table[opType] : undefined;
  const defaultDomain = !domain || domain === 'ai.onnx';
  const impl =
    (defaultDomain ? own(onnxValueOps) : undefined) ??
    (Object.prototype.hasOwnProperty.call(DOMAINS, domain ?? '') ? own(DOMAINS[domain ?? '']!) : undefined);
  return impl && (impl.since === undefined || opset >= impl.since) ? impl : undefined;
}

/** The default-domain opsets the importer accepts. */
export const OPSET_RANGE = { min: 7, max: 21 } as const;

/** Control flow the model's interpreter runs itself (src/control-flow.ts: If's branch, Loop's and Scan's body). */
export const CONTROL_FLOW_OPS = ['If', 'Loop', 'Scan', 'SequenceMap'] as const;

/** The op types the importer supports (default domain), sorted. */
export function supportedOps(): string[] {
  return [...Object.keys(onnxOps), ...Object.keys(onnxValueOps), ...CONTROL_FLOW_OPS].sort();
}

/** The com.microsoft contrib ops the importer supports, sorted. */
export function supportedContribOps(): string[] {
  return Object.keys(contribOps).sort();
}
