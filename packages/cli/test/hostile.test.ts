/** The CLI against hostile paths and cards (issue 19): fast one-line failures, no empty folders left. */
import * as fs from 'fs';
import * as path from 'path';
import { bundledModels } from '@gradlens/nn';
import { makeWeightsDir, runCli } from './fixtures';

let dir: string;
const savedEnv = process.env.GRADLENS_WEIGHTS;

beforeAll(() => {
  dir = makeWeightsDir(1);
  process.env.GRADLENS_WEIGHTS = dir;
});
afterAll(() => {
  if (savedEnv === undefined) delete process.env.GRADLENS_WEIGHTS;
  else process.env.GRADLENS_WEIGHTS = savedEnv;
  fs.rmSync(dir, { recursive: true, force: true });
});

const run = runCli;

const sample = (): string => path.join(dir, 'samples', 'sample-0.png');

describe('output folders', () => {
  it('explain --out /proc/x fails at once with one line', async () => {
    const t0 = Date.now();
    const r = await run('explain', '--model', 'gapnet', '--method', 'vanilla', '--image', sample(), '--out', '/proc/x');
    expect(r.code).not.toBe(0);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/cannot write into the output folder \/proc\/x/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('a failed explain leaves no output folder behind', async () => {
    const out = path.join(dir, 'never-made');
    const notImage = path.join(dir, 'notes.png');
    fs.writeFileSync(notImage, 'not a picture');
    const r = await run('explain', '--model', 'gapnet', '--method', 'vanilla', '--image', notImage, '--out', out);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/notes\.png/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('a --targets CSV whose quoted field holds newlines, a carriage return and a terminal escape is quoted on one line, not obeyed', async () => {
    const csv = path.join(dir, 'odd-targets.csv');
    fs.writeFileSync(csv, `file,class\n"gho\nst\r\u001b[2Jx.png",3\n`);
    const r = await run(
      'explain',
      '--model',
      'gapnet',
      '--method',
      'vanilla',
      '--image',
      sample(),
      '--targets',
      csv,
      '--out',
      path.join(dir, 'o2'),
    );
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).not.toMatch(/[\r\u001b]/);
    expect(r.err).toMatch(/odd-targets\.csv: line 2: picture 'gho; st\\r\\u001b\[2Jx\.png' does not exist/);
  });

  it('explain --image /dev/zero is refused at once', async () => {
    const r = await run('explain', '--model', 'gapnet', '--method', 'vanilla', '--image', '/dev/zero', '--out', path.join(dir, 'o'));
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/\/dev\/zero/);
    expect(r.err).toMatch(/not a (regular )?file/);
  });

  it('evaluate with an unusable --out fails before computing anything', async () => {
    fs.writeFileSync(path.join(dir, 'a-file'), '');
    const t0 = Date.now();
    const r = await run('evaluate', '--model', 'gapnet', '--n', '1', '--methods', 'vanilla', '--out', path.join(dir, 'a-file', 'sub'));
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/cannot write into the output folder .*a-file is not a folder/);
    expect(r.err).not.toMatch(/evaluating/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});

describe('model cards are checked against their schema', () => {
  const card = (): string => path.join(dir, bundledModels.gapnet.card);
  let saved = '';
  beforeEach(() => {
    saved = fs.readFileSync(card(), 'utf8');
  });
  afterEach(() => fs.writeFileSync(card(), saved));

  const broken: Array<[string, (c: Record<string, unknown>) => void, RegExp]> = [
    [
      'no normalization',
      (c) => {
        delete c['normalization'];
      },
      /normalization\.mean is missing \(an array of 3 finite numbers\); normalization\.std is missing/,
    ],
    [
      'std of zero',
      (c) => {
        c['normalization'] = { mean: [0, 0, 0], std: [1, 0, 1] };
      },
      /normalization\.std must be an array of 3 positive numbers/,
    ],
    [
      'classes not strings',
      (c) => {
        c['classes'] = [1, 2];
      },
      /classes must be a non-empty array of class names/,
    ],
    [
      'inputSize of two numbers',
      (c) => {
        c['inputSize'] = [64, 64];
      },
      /inputSize must be an array of 3 positive integers/,
    ],
  ];
  it.each(broken)('%s', async (what, edit, message) => {
    const c = JSON.parse(saved) as Record<string, unknown>;
    edit(c);
    fs.writeFileSync(card(), JSON.stringify(c));
    const r = await run('explain', '--model', 'gapnet', '--method', 'vanilla', '--image', sample(), '--out', path.join(dir, 'o2'));
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/gapnet\.json: not a valid model card: /);
    expect(r.err).toMatch(message);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });

  it('a card that is not JSON', async () => {
    fs.writeFileSync(card(), '{ not json');
    const r = await run('explain', '--model', 'gapnet', '--method', 'vanilla', '--image', sample(), '--out', path.join(dir, 'o3'));
    expect(r.err).toMatch(/gapnet\.json: not a valid model card \(not JSON: /);
  });
});
