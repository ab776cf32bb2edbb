import * as fs from 'fs';
import * as path from 'path';
import { writeImage } from '@gradlens/io';
import { main } from '../src/main';
import { sha256File, shardRange } from '../src/shards';
import { captureStreams, useWeightsDir } from './fixtures';

let dir: string;
let pics: string;
let boxes: string;
const weights = useWeightsDir(1);
beforeAll(() => {
  dir = weights();
  pics = path.join(dir, 'pics');
  fs.mkdirSync(pics);
  ['a.png', 'b.png', 'c.png'].forEach((file, k) => {
    const w = 64 + 16 * k;
    const data = new Uint8Array(w * 64 * 3);
    for (let i = 0; i < data.length; i++) data[i] = ((i * 13 + k * 29) % 101) + 50;
    for (let y = 8 + 4 * k; y < 36 + 4 * k; y++) for (let x = 10; x < 40; x++) data.fill(220, (y * w + x) * 3, (y * w + x) * 3 + 3);
    writeImage(path.join(pics, file), { width: w, height: 64, channels: 3, bitDepth: 8, data });
  });
  // a: one box, b: two, c: one: the randomisation test's first two samples fall in shards 0 and 1
  boxes = path.join(dir, 'boxes.csv');
  fs.writeFileSync(boxes, 'a.png,10,8,40,36,3\nb.png,10,12,40,40,Dress\nb.png,0,0,20,20,5\nc.png,10,16,40,44,7\n');
});

// the seeded metrics (faithfulness) and the randomisation test's first samples are what shards could get wrong
const RUN = [
  '--model',
  'gapnet',
  '--methods',
  'gradcam',
  '--metrics',
  'pointing,deletion,faithfulness,randomization,sparseness',
  '--curve-steps',
  '4',
  '--randomization-samples',
  '2',
  '--images',
  '',
  '--boxes',
  '',
];
const run = (): string[] => RUN.map((a, i) => (RUN[i - 1] === '--images' ? pics : RUN[i - 1] === '--boxes' ? boxes : a));

async function ok(args: string[]): Promise<string> {
  const s = captureStreams();
  const code = await main(args, s);
  expect(s.err()).not.toMatch(/gradlens:/);
  expect(code).toBe(0);
  return s.out();
}

test("shards scored apart and merged give the single run's table; parts carry one line per picture × method with the inputs' hashes", async () => {
  await ok(['evaluate', ...run(), '--out', path.join(dir, 'single')]);
  const parts = path.join(dir, 'parts');
  for (let i = 0; i < 3; i++) await ok(['evaluate', ...run(), '--shard', `${i}/3`, '--out', parts]);
  const files = fs
    .readdirSync(parts)
    .sort()
    .map((f) => path.join(parts, f));
  expect(files.map((f) => path.basename(f))).toEqual([
    'evaluate-part-0-of-3.jsonl',
    'evaluate-part-1-of-3.jsonl',
    'evaluate-part-2-of-3.jsonl',
  ]);
  const lines = files.flatMap((f) =>
    fs
      .readFileSync(f, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>),
  );
  const results = lines.filter((l) => l.kind === 'result');
  expect(results).toHaveLength(4);
  const b = results.find((l) => l.picture === 'b.png' && l.method === 'gradcam')!;
  expect(b.pictureHash).toBe(sha256File(path.join(pics, 'b.png')));
  // the randomisation test ran on global samples 0 and 1 only, across two shards
  expect(
    results
      .filter((l) => l.randomization !== null)
      .map((l) => l.sample)
      .sort(),
  ).toEqual([0, 1]);
  await ok(['evaluate', '--merge', ...files, '--out', path.join(dir, 'merged')]);
  const single = JSON.parse(fs.readFileSync(path.join(dir, 'single', 'evaluation.json'), 'utf8')) as {
    samples: number;
    values: Record<string, Record<string, (number | null)[]>>;
  };
  const merged = JSON.parse(fs.readFileSync(path.join(dir, 'merged', 'evaluation.json'), 'utf8')) as unknown;
  expect(single.samples).toBe(4);
  expect(single.values.gradcam!.deletion!.every((v) => typeof v === 'number')).toBe(true);
  expect(single.values.gradcam!.faithfulness!.some((v) => typeof v === 'number')).toBe(true);
  expect(single.values.gradcam!.randomization!.slice(2)).toEqual([null, null]);
  expect(merged).toEqual(single);
  expect(fs.readFileSync(path.join(dir, 'merged', 'evaluation.md'), 'utf8')).toBe(
    fs.readFileSync(path.join(dir, 'single', 'evaluation.md'), 'utf8'),
  );
});

test('missing, overlapping, foreign and broken parts are one-line errors', async () => {
  const parts = path.join(dir, 'parts');
  const p = (i: number): string => path.join(parts, `evaluate-part-${i}-of-3.jsonl`);
  const other = path.join(dir, 'other');
  await ok(['evaluate', ...run(), '--curve-steps', '5', '--shard', '2/3', '--out', other]);
  fs.copyFileSync(p(1), path.join(dir, 'copy.jsonl'));
  const lines = fs.readFileSync(p(2), 'utf8').trim().split('\n');
  fs.writeFileSync(path.join(dir, 'short.jsonl'), `${lines.slice(0, -1).join('\n')}\n`);
  fs.writeFileSync(path.join(dir, 'junk.jsonl'), 'hello\n');
  const cases: [string[], RegExp][] = [
    [[p(0), p(1)], /missing shard 2\/3 of 3/],
    [[p(0), p(1), p(2), path.join(dir, 'copy.jsonl')], /overlapping parts: shard 1\/3 is in .* and in .*copy.jsonl/],
    [[p(0), p(1), path.join(other, 'evaluate-part-2-of-3.jsonl')], /is from another run .* differs in curveSteps/],
    [[p(0), p(1), path.join(dir, 'short.jsonl')], /sample 3 × gradcam is missing \(its part, shard 2\/3, is incomplete\)/],
    [[p(0), p(1), path.join(dir, 'junk.jsonl')], /junk.jsonl:1: not JSON/],
  ];
  for (const [files, msg] of cases) {
    const s = captureStreams();
    expect(await main(['evaluate', '--merge', ...files, '--out', path.join(dir, 'never')], s)).toBe(2);
    expect(s.err()).toMatch(msg);
    expect(s.err().trim().split('\n')).toHaveLength(1);
  }
  for (const [args, msg] of [
    [['--shard', '3/3'], /needs 0 ≤ i < n/],
    [['--shard', '1-3'], /--shard must be i\/n/],
  ] as const) {
    const s = captureStreams();
    expect(await main(['evaluate', ...run(), ...args, '--out', path.join(dir, 'never')], s)).toBe(2);
    expect(s.err()).toMatch(msg);
  }
  const s = captureStreams();
  expect(await main(['evaluate', '--merge', p(0), '--model', 'gapnet'], s)).toBe(2);
  expect(s.err()).toMatch(/the parts carry their run's options; leave out --model/);
});

test('shard ranges cover every item once, in order', () => {
  for (const total of [0, 1, 5, 17]) {
    for (const count of [1, 3, 8]) {
      const got = Array.from({ length: count }, (_, index) => shardRange(total, { index, count }));
      expect(got[0]![0]).toBe(0);
      expect(got[count - 1]![1]).toBe(total);
      got.forEach((r, i) => {
        if (i > 0) expect(r[0]).toBe(got[i - 1]![1]);
      });
    }
  }
});
