// Runs one reader call in a fresh process and reports its outcome, peak memory and time as JSON,
// so the hostile-input suite can bound memory (maxRSS) and time and survive an abort.
// Usage: node child.js <reader> <file> [limits as JSON]
//   (reader: readImage | readNpy | readNpz | readSafetensors | readPth | readTorchFile)
// maxRSS is a high-water mark that, on Linux, a spawned child starts with from its parent: report it too
const startRssMiB = process.resourceUsage().maxRSS / 1024;
const io = require('../../dist');
const [reader, file, limits] = process.argv.slice(2);
const t0 = Date.now();
let outcome;
try {
  const result = io[reader](file, limits ? { limits: JSON.parse(limits) } : undefined);
  const summary =
    result && result.width
      ? `${result.width}x${result.height}`
      : result && typeof result === 'object'
        ? `keys: ${Object.keys(result).join(', ')}`
        : typeof result;
  outcome = { ok: true, summary };
} catch (err) {
  outcome = { ok: false, name: err.constructor.name, message: String(err.message) };
}
outcome.ms = Date.now() - t0;
outcome.maxRssMiB = peakRssMiB();
outcome.startRssMiB = startRssMiB;
process.stdout.write(JSON.stringify(outcome));

// VmHWM is this process's own peak (its memory map is new since exec); getrusage's maxRSS can carry
// the peak of the process that spawned it (seen under jest), so it is only the fallback
function peakRssMiB() {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}
