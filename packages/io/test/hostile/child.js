// Runs one reader call in a fresh process and reports its outcome, peak memory and time as JSON,
// so the hostile-input suite can bound memory (maxRSS) and time and survive an abort.
// Usage: node child.js <reader> <file>   (reader: readImage | readNpy | readNpz | readSafetensors | readPth)
const io = require('../../dist');
const [reader, file] = process.argv.slice(2);
const t0 = Date.now();
let outcome;
try {
  const result = io[reader](file);
  outcome = { ok: true, summary: result && result.width ? `${result.width}x${result.height}` : typeof result };
} catch (err) {
  outcome = { ok: false, name: err.constructor.name, message: String(err.message) };
}
outcome.ms = Date.now() - t0;
outcome.maxRssMiB = process.resourceUsage().maxRSS / 1024;
process.stdout.write(JSON.stringify(outcome));
