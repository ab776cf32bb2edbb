/**
 * `gradlens evaluate --shard i/n` and `--merge`: a run split into deterministic slices whose partial
 * results (JSON lines, one per picture × method, with the inputs' hashes) combine into the table of
 * one run. A part file starts with a header line (the run's configuration and hash, the shard and the
 * samples it covers), then one line per sample × method with every metric's value for that sample.
 */

import { createHash } from 'crypto';
import * as fs from 'fs';
import type { EvaluationTable, MetricName, MetricSummary } from '@gradlens/explain';
import { CliError } from './args';

/** The format tag of part files. */
export const PART_FORMAT = 'gradlens-evaluate-part/1';

/** A shard: index i of count n (0 ≤ i < n, as Kubernetes indexed Jobs number them). */
export interface Shard {
  index: number;
  count: number;
}

/** Parses `i/n`; throws a usage error otherwise. */
export function parseShard(spec: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(spec.trim());
  if (!m) throw new CliError(`evaluate: --shard must be i/n (0 ≤ i < n, e.g. 0/4 … 3/4), got '${spec}'`, 2);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index >= count)
    throw new CliError(
      `evaluate: --shard ${spec}: needs 0 ≤ i < n (shards are numbered from 0, as Kubernetes indexed Jobs and $SLURM_ARRAY_TASK_ID from 0)`,
      2,
    );
  return { index, count };
}

/** The items [start, end) of shard `s` of `total` items: contiguous, sizes differing by at most one. */
export function shardRange(total: number, s: Shard): [number, number] {
  return [Math.floor((total * s.index) / s.count), Math.floor((total * (s.index + 1)) / s.count)];
}

/** SHA-256 of bytes or text, hex. */
export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SHA-256 of a file's bytes, read in chunks (weights files are large). */
export function sha256File(file: string): string {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/** What makes two runs the same: everything the values depend on (hashed into `run`). */
export type RunConfig = Record<string, unknown> & { methods: string[]; metrics: MetricName[]; total: number };

/** The header line of a part file. */
export interface PartHeader {
  format: typeof PART_FORMAT;
  kind: 'header';
  run: string;
  shard: string;
  /** Global sample indices [start, end) this part covers. */
  samples: [number, number];
  config: RunConfig;
}

/** One sample × method. */
export interface PartLine {
  kind: 'result';
  run: string;
  shard: string;
  sample: number;
  picture: string;
  pictureHash: string;
  label: number;
  box: [number, number, number, number];
  method: string;
  values: Partial<Record<MetricName, number | null>>;
  /** The randomisation test's Spearman correlation per layer (top first), when it ran on this sample. */
  randomization: { layers: string[]; spearman: (number | null)[] } | null;
}

/** The hash of a run's configuration (key order fixed). */
export function runHash(config: RunConfig): string {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sorted)
      : v !== null && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v as object)
              .sort()
              .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
          )
        : v;
  return sha256(JSON.stringify(sorted(config))).slice(0, 16);
}

/** Mean, population standard deviation and count of the finite values, as evaluateMethods summarises. */
export function summarize(v: readonly (number | null)[]): MetricSummary {
  const ok = v.filter((x): x is number => x !== null && Number.isFinite(x));
  if (ok.length === 0) return { mean: null, std: null, n: 0 };
  const mean = ok.reduce((a, b) => a + b, 0) / ok.length;
  const std = Math.sqrt(ok.reduce((a, b) => a + (b - mean) ** 2, 0) / ok.length);
  return { mean, std, n: ok.length };
}

/** The text of a part file: its header, then its lines. */
export function partText(header: PartHeader, lines: readonly PartLine[]): string {
  return [header, ...lines].map((l) => JSON.stringify(l)).join('\n') + '\n';
}

function parseLine(text: string, where: string): PartHeader | PartLine {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new CliError(`${where}: not JSON (${(e as Error).message}); is it a part file of gradlens evaluate --shard?`, 2);
  }
  const r = v as Record<string, unknown>;
  if (
    r === null ||
    typeof r !== 'object' ||
    (r.kind !== 'header' && r.kind !== 'result') ||
    typeof r.run !== 'string' ||
    typeof r.shard !== 'string'
  ) {
    throw new CliError(`${where}: not a line of a gradlens evaluate part file`, 2);
  }
  if (r.kind === 'header' && r.format !== PART_FORMAT)
    throw new CliError(`${where}: part format '${String(r.format)}', this gradlens reads ${PART_FORMAT}`, 2);
  return v as PartHeader | PartLine;
}

/** The table of a whole run from its part files, with its configuration; every shard must be there once and complete. */
export function mergeParts(files: readonly string[]): { table: EvaluationTable; config: RunConfig } {
  if (files.length === 0) throw new CliError('evaluate --merge: give the part files (parts/*.jsonl)', 2);
  const headers: { header: PartHeader; file: string }[] = [];
  const lines: { line: PartLine; file: string }[] = [];
  for (const file of files) {
    if (!fs.existsSync(file)) throw new CliError(`evaluate --merge: file not found: ${file}`, 2);
    const text = fs.readFileSync(file, 'utf8').split('\n');
    let header: PartHeader | null = null;
    text.forEach((t, i) => {
      if (t.trim() === '') return;
      const l = parseLine(t, `${file}:${i + 1}`);
      if (l.kind === 'header') {
        if (header) throw new CliError(`${file}:${i + 1}: a second header (concatenated parts? give each part file as it was written)`, 2);
        header = l;
        headers.push({ header: l, file });
      } else {
        if (!header) throw new CliError(`${file}:${i + 1}: a result before the header line`, 2);
        if (l.run !== (header as PartHeader).run || l.shard !== (header as PartHeader).shard)
          throw new CliError(
            `${file}:${i + 1}: a line of run ${l.run} shard ${l.shard} in the part of run ${(header as PartHeader).run} shard ${(header as PartHeader).shard}`,
            2,
          );
        lines.push({ line: l, file });
      }
    });
    if (!header) throw new CliError(`${file}: no header line: not a part file, or cut short`, 2);
  }
  const first = headers[0]!.header;
  for (const { header, file } of headers) {
    if (header.run !== first.run) {
      const diff = Object.keys({ ...first.config, ...header.config }).filter(
        (k) => JSON.stringify(first.config[k]) !== JSON.stringify(header.config[k]),
      );
      throw new CliError(
        `evaluate --merge: ${file} is from another run than ${headers[0]!.file} (run ${header.run} vs ${first.run}; differs in ${diff.join(', ') || 'its hash'})`,
        2,
      );
    }
  }
  const count = Number(first.shard.split('/')[1]);
  const byShard = new Map<string, string>();
  for (const { header, file } of headers) {
    const other = byShard.get(header.shard);
    if (other !== undefined)
      throw new CliError(`evaluate --merge: overlapping parts: shard ${header.shard} is in ${other} and in ${file}`, 2);
    byShard.set(header.shard, file);
  }
  const missing = Array.from({ length: count }, (_, i) => `${i}/${count}`).filter((s) => !byShard.has(s));
  if (missing.length > 0)
    throw new CliError(
      `evaluate --merge: missing shard${missing.length === 1 ? '' : 's'} ${missing.join(', ')} of ${count} (give every part; ${headers.length} given)`,
      2,
    );
  const { methods, metrics, total } = first.config;
  const seen = new Map<string, PartLine>();
  for (const { line, file } of lines) {
    const key = `${line.sample}|${line.method}`;
    if (seen.has(key))
      throw new CliError(`evaluate --merge: overlapping parts: sample ${line.sample} × ${line.method} appears twice (again in ${file})`, 2);
    seen.set(key, line);
  }
  const values: EvaluationTable['values'] = {};
  const results: EvaluationTable['results'] = {};
  const randomizationCurves: EvaluationTable['randomizationCurves'] = {};
  for (const method of methods) {
    const per: Partial<Record<MetricName, (number | null)[]>> = {};
    for (const m of metrics) per[m] = [];
    let curve: { layers: string[]; sums: number[][] } | null = null;
    for (let s = 0; s < total; s++) {
      const line = seen.get(`${s}|${method}`);
      if (!line)
        throw new CliError(
          `evaluate --merge: sample ${s} × ${method} is missing (its part, shard ${headers.find((h) => s >= h.header.samples[0] && s < h.header.samples[1])?.header.shard ?? '?'}, is incomplete)`,
          2,
        );
      for (const m of metrics) per[m]!.push(line.values[m] ?? null);
      if (line.randomization) {
        curve ??= { layers: line.randomization.layers, sums: line.randomization.layers.map(() => []) };
        // evaluateMethods keeps NaN correlations in its sums; JSON carries them as null
        line.randomization.spearman.forEach((v, i) => curve!.sums[i]?.push(v ?? NaN));
      }
    }
    values[method] = per;
    const r: Partial<Record<MetricName, MetricSummary>> = {};
    for (const m of metrics) r[m] = summarize(per[m]!);
    results[method] = r;
    if (curve) randomizationCurves[method] = { layers: curve.layers, spearman: curve.sums.map((v) => summarize(v).mean) };
  }
  return {
    table: { methods: [...methods], metrics: [...metrics], samples: total, results, values, randomizationCurves },
    config: first.config,
  };
}
