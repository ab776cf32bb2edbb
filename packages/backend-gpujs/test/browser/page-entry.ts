/**
 * What the Chromium conformance page runs (bundled by chromium.ts with the packages' browser entries):
 * every shared case on the CPU backend and on gpujs in one mode, results read asynchronously.
 */
import { getBackendInfo, setBackend, type Tensor } from '@gradlens/tensor';
import { GpujsStorage, gpujsBackend } from '@gradlens/backend-gpujs';
import { cases } from '../cases';
import { makeInputs, runCaseAsync, type CaseResult } from '../run-case';

/** A case's results as plain arrays (what page.evaluate can carry). */
export interface PlainResult {
  out: number[];
  grads: number[][];
  outOnDevice: boolean;
  gradOnDevice: boolean;
  info?: Record<string, string>;
}

/** One case's results on both backends, or the error the device run threw. */
export interface PageCase {
  name: string;
  ref: PlainResult;
  got: PlainResult | null;
  error?: string;
  gradOnCpu: boolean;
}

const plain = (r: CaseResult): PlainResult => ({ ...r, out: Array.from(r.out), grads: r.grads.map((g) => Array.from(g)) });

const onDevice = (t: Tensor | undefined): boolean => t?.deviceStorage() instanceof GpujsStorage;

/** Runs every case (or those whose index is in `only`) on cpu and on gpujs in `mode`; returns them with getBackendInfo() of the gpujs run. */
async function runConformance(mode: string, only?: number[]): Promise<{ cases: PageCase[]; info: Record<string, string> }> {
  const out: PageCase[] = [];
  let info: Record<string, string> = {};
  for (const [i, c] of cases.entries()) {
    if (only && !only.includes(i)) continue;
    const values = makeInputs(c.inputs, 1000 + i);
    const ref = await runCaseAsync('cpu', {}, c.inputs, values, 2000 + i, c.fn, c.rules, onDevice);
    let got: PlainResult | null = null;
    let error: string | undefined;
    try {
      got = plain(await runCaseAsync('gpujs', { mode }, c.inputs, values, 2000 + i, c.fn, c.rules, onDevice));
    } catch (e) {
      error = (e as Error).message;
    }
    setBackend('gpujs', { mode });
    info = getBackendInfo();
    setBackend('cpu');
    out.push({ name: c.name, ref: plain(ref), got, error, gradOnCpu: c.gradOnCpu === true });
  }
  return { cases: out, info };
}

/** The gpujs backend's own report for `mode` (resolved mode, fallback reason), without running a case. */
function modeInfo(mode: string): Record<string, string> {
  return gpujsBackend(mode as Parameters<typeof gpujsBackend>[0]).info();
}

Object.assign(globalThis, { runConformance, modeInfo });
