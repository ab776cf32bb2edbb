// @ts-check
/**
 * Benchmark runner: `node run.js [--suite kernels[,other]] [--json] [--reps N] [--systems a,b] [--max-seconds S]`
 * (from the repo root: `npm run bench -- --suite kernels`; `--help` lists the flags). Each suite is a module in
 * ./suites exporting { name, description, run(ctx) }; it reports rows through ctx.report and this file prints them.
 */
'use strict';
const os = require('os');
const path = require('path');
const fs = require('fs');
const { declareFlags } = require('../scripts/flags');

const SUITES = path.join(__dirname, 'suites');

/**
 * One result. ms: median wall time; gflops from it. cpuMs: median process CPU time of the same runs (all
 * threads), a load-robust cross-check for one-thread systems on a busy machine.
 * @typedef {{ suite: string, name: string, system: string, threads: number, ms: number | null, gflops: number | null, cpuMs?: number, reps?: number, note?: string }} Row
 */

/**
 * The command line, read before anything runs: --help prints the flags, a mistyped or malformed one
 * stops here with one line and exit code 2 (scripts/flags.js, shared with weights/).
 * @returns {{ suites: string[], json: boolean, reps: number, systems: string[] | null, maxSeconds: number }}
 */
function options() {
  const { arg, list, refuse } = declareFlags({
    usage: 'node benchmarks/run.js [flags]   (from the root: npm run bench -- [flags])',
    flags: {
      suite: { kind: 'string', value: 'a,b', help: 'the suites to run, files of benchmarks/suites (default: every one)' },
      json: { kind: 'switch', help: 'one JSON row per line instead of tables' },
      reps: { kind: 'number', help: 'timed runs per case, at most, after 2 warm-ups (default 7)' },
      systems: { kind: 'string', value: 'a,b', help: "the systems to time, as gradlens-cpu,tfjs-cpu,tfjs-wasm (default: each suite's)" },
      'max-seconds': { kind: 'number', value: 'S', help: 'a case whose first run takes longer is timed by that run alone (default 4)' },
    },
  });
  const available = fs
    .readdirSync(SUITES)
    .filter((f) => f.endsWith('.js'))
    .map((f) => f.slice(0, -3))
    .sort();
  const suites = list('suite') ?? available;
  const unknown = suites.find((s) => !available.includes(s));
  if (unknown !== undefined) refuse(`unknown suite '${unknown}'; suites: ${available.join(', ')}`);
  return {
    suites,
    json: arg('json', 'false') === 'true',
    reps: Math.max(1, parseInt(arg('reps', '7'), 10)),
    systems: list('systems') ?? null,
    maxSeconds: Number(arg('max-seconds', '4')),
  };
}

/**
 * Times fn: one warm-up run (which also sizes the measurement), a second warm-up, then `reps` runs;
 * returns the median in ms. A case whose first run takes longer than maxSeconds is timed by that run alone.
 * @param {() => unknown} fn
 * @param {{ reps: number, maxSeconds: number }} opts
 */
function measure(fn, opts) {
  /** @type {number[]} */
  const cpu = [];
  const once = () => {
    const t = process.hrtime.bigint();
    const c = process.cpuUsage();
    fn();
    const u = process.cpuUsage(c);
    cpu.push((u.user + u.system) / 1e3);
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  const first = once();
  if (first > opts.maxSeconds * 1000) return { ms: first, cpuMs: /** @type {number} */ (cpu[0]), reps: 1 };
  once();
  cpu.length = 0;
  // Keep a case to about maxSeconds in total.
  const reps = Math.max(1, Math.min(opts.reps, Math.floor((opts.maxSeconds * 1000) / Math.max(first, 1e-3))));
  const times = [];
  for (let r = 0; r < reps; r++) times.push(once());
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  const ms =
    times.length % 2 === 1
      ? /** @type {number} */ (times[mid])
      : /** @type {number} */ (times[mid - 1] + /** @type {number} */ (times[mid])) / 2;
  cpu.sort((a, b) => a - b);
  return { ms, cpuMs: /** @type {number} */ (cpu[cpu.length >> 1]), reps };
}

function pad(s, n, right = false) {
  s = String(s);
  return right ? s.padStart(n) : s.padEnd(n);
}

/** @param {Row[]} rows */
function printTable(rows) {
  const byName = new Map();
  for (const r of rows) {
    if (!byName.has(r.name)) byName.set(r.name, []);
    byName.get(r.name).push(r);
  }
  const w = Math.max(8, ...rows.map((r) => r.name.length));
  console.log(
    `${pad('workload', w)}  ${pad('system', 13)} ${pad('thr', 3, true)} ${pad('ms', 10, true)} ${pad('GFLOP/s', 8, true)} ${pad('vs gradlens', 11, true)} ${pad('cpu ms', 10, true)}`,
  );
  for (const [name, group] of byName) {
    const base = group.find((r) => r.system === 'gradlens-cpu');
    for (const r of group) {
      const ratio = r.gflops !== null && base && base.gflops ? `${(r.gflops / base.gflops).toFixed(2)}×` : '';
      console.log(
        `${pad(name, w)}  ${pad(r.system, 13)} ${pad(r.threads, 3, true)} ${pad(r.ms === null ? 'n/a' : r.ms.toFixed(1), 10, true)} ` +
          `${pad(r.gflops === null ? 'n/a' : r.gflops.toFixed(2), 8, true)} ${pad(ratio, 11, true)} ${pad(r.cpuMs === undefined ? '' : r.cpuMs.toFixed(1), 10, true)}${r.note ? `  ${r.note}` : ''}`,
      );
    }
  }
}

async function main() {
  const opts = options();
  if (!opts.json) {
    const cpu = os.cpus()[0];
    console.log(
      `node ${process.version}, ${os.cpus().length} logical CPUs (${cpu ? cpu.model : '?'}), load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    console.log(`median of up to ${opts.reps} runs after 2 warm-ups (cases over ${opts.maxSeconds}s: one run)\n`);
  }
  for (const s of opts.suites) {
    const suite = require(path.join(SUITES, `${s}.js`));
    /** @type {Row[]} */
    const rows = [];
    await suite.run({
      systems: opts.systems,
      measure: (/** @type {() => unknown} */ fn) => measure(fn, opts),
      report: (/** @type {Row} */ row) => {
        rows.push(row);
        if (opts.json) console.log(JSON.stringify(row));
      },
    });
    if (!opts.json) {
      console.log(`== ${suite.name}: ${suite.description}`);
      printTable(rows);
      console.log('');
    }
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
