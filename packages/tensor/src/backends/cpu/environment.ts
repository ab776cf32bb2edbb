/**
 * The CPU backend's environment variables, for entry points (the CLI, the tests' setup, benchmarks): the
 * core never reads the environment itself, an entry passes it here.
 */
import { parseArenaMiB, parseCpuGemmEngine, setCpuGemmEngine, setTensorArenaSize } from './kernels/gemm';
import { parseWinograd, setWinograd, setWinogradTile } from './kernels/winograd';
import { parseThreadCount, setNumThreads } from './threads/settings';

/**
 * Applies GRADLENS_THREADS (setNumThreads), GRADLENS_CPU_GEMM ('wasm' | 'js': setCpuGemmEngine),
 * GRADLENS_WINOGRAD ('0' | '1' | '2' | '4': setWinograd and setWinogradTile) and GRADLENS_ARENA_MB (MiB:
 * setTensorArenaSize, before the engine starts) from `env` (e.g. process.env); unset or empty variables change
 * nothing. Throws a one-line error naming the variable when a value is bad, before applying any.
 */
export function applyCpuEnvironment(env: Readonly<Record<string, string | undefined>>): void {
  const given = (k: string): string | undefined => (env[k] === undefined || env[k] === '' ? undefined : env[k]);
  const threads = given('GRADLENS_THREADS'),
    gemm = given('GRADLENS_CPU_GEMM'),
    winograd = given('GRADLENS_WINOGRAD'),
    arena = given('GRADLENS_ARENA_MB');
  const t = threads === undefined ? undefined : parseThreadCount(threads);
  const e = gemm === undefined ? undefined : parseCpuGemmEngine(gemm);
  const w = winograd === undefined ? undefined : parseWinograd(winograd);
  const a = arena === undefined ? undefined : parseArenaMiB(arena);
  if (a !== undefined) setTensorArenaSize(a); // first: the others may start the engine
  if (t !== undefined) setNumThreads(t);
  if (e !== undefined) setCpuGemmEngine(e);
  if (w !== undefined) {
    setWinograd(w.on);
    setWinogradTile(w.tile);
  }
}
