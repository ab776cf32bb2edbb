import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/**
 * The training scripts' flags (scripts/flags.js): each script declares its flags, so `--help` prints the
 * usage and a mistyped flag is refused before the script writes anything. `node weights/train.js --help`
 * used to train gapnet and overwrite the bundled weights, and `--epoch 30` silently trained 10 epochs.
 */
type Flag = { kind: 'number' | 'numbers' | 'string' | 'switch'; help: string; value?: string };
type Spec = { usage: string; flags: Record<string, Flag>; commands?: string[] };
type Parsed = { values: Map<string, string>; command: string | undefined; help: boolean };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const args = require(path.join(ROOT, 'scripts', 'flags.js')) as {
  parseFlags: (spec: Spec, argv: string[]) => Parsed;
  usageText: (spec: Spec) => string;
};

const SPEC: Spec = {
  usage: 'node x.js [flags]',
  flags: {
    epochs: { kind: 'number', help: 'epochs' },
    out: { kind: 'string', help: 'folder' },
    bn: { kind: 'switch', help: 'batch norm' },
    lr: { kind: 'number', help: 'rate' },
  },
};

describe('parseFlags (scripts/flags.js)', () => {
  test.each<[string, string[], [string, string][]]>([
    [
      'a value flag and a switch',
      ['--epochs', '30', '--bn'],
      [
        ['epochs', '30'],
        ['bn', 'true'],
      ],
    ],
    [
      '--name=value',
      ['--epochs=30', '--out=/tmp/a b'],
      [
        ['epochs', '30'],
        ['out', '/tmp/a b'],
      ],
    ],
    [
      'a switch with false',
      ['--bn', 'false', '--lr', '0.002'],
      [
        ['bn', 'false'],
        ['lr', '0.002'],
      ],
    ],
    ['a negative number', ['--lr', '-1e-3'], [['lr', '-1e-3']]],
    ['nothing', [], []],
  ])('reads %s', (_what, argv, expected) => {
    const parsed = args.parseFlags(SPEC, argv);
    expect([...parsed.values.entries()]).toEqual(expected);
    expect(parsed.help).toBe(false);
  });

  test.each<[string, string[], RegExp]>([
    [
      'an unknown flag, with the nearest known one and all of them',
      ['--epoch', '30'],
      /^node x\.js: unknown option '--epoch' \(did you mean '--epochs'\?\); options: --epochs, --out, --bn, --lr, --help$/,
    ],
    [
      'an unknown flag with nothing near',
      ['--colour', 'red'],
      /^node x\.js: unknown option '--colour'; options: --epochs, --out, --bn, --lr, --help$/,
    ],
    ['a number flag with a word', ['--epochs', 'ten'], /^node x\.js: --epochs must be a number, got 'ten'$/],
    ['a number flag with an empty value', ['--epochs='], /^node x\.js: --epochs must be a number, got ''$/],
    ['a number flag with Infinity', ['--lr', 'Infinity'], /^node x\.js: --lr must be a number, got 'Infinity'$/],
    ['a value flag without its value', ['--epochs', '--bn'], /^node x\.js: --epochs needs a value \(number\)$/],
    ['a value flag at the end', ['--out'], /^node x\.js: --out needs a value \(string\)$/],
    ['a flag given twice', ['--lr', '1', '--lr', '2'], /^node x\.js: --lr given twice$/],
    ['a stray word', ['--bn', 'maybe'], /^node x\.js: unexpected argument 'maybe'/],
    [
      'a switch with a value that is not true/false',
      ['--bn=yes'],
      /^node x\.js: --bn is a flag \(give it alone, or =true\/=false\), got 'yes'$/,
    ],
    ['a name of Object.prototype', ['--constructor', '1'], /^node x\.js: unknown option '--constructor'/],
  ])('refuses %s', (_what, argv, message) => {
    expect(() => args.parseFlags(SPEC, argv)).toThrow(message);
  });

  test("a numbers flag (the benchmarks' --threads 1,2) takes finite numbers separated by commas", () => {
    const spec: Spec = { usage: 'node x.js [flags]', flags: { threads: { kind: 'numbers', help: 'counts' } } };
    expect(args.parseFlags(spec, ['--threads', '1,2']).values.get('threads')).toBe('1,2');
    expect(args.parseFlags(spec, ['--threads=4']).values.get('threads')).toBe('4');
    for (const bad of ['1,two', '1,', ',2', '2,Infinity', ''])
      expect(() => args.parseFlags(spec, [`--threads=${bad}`])).toThrow(
        `node x.js: --threads must be numbers separated by commas (as 1,2), got '${bad}'`,
      );
    expect(args.usageText(spec)).toContain('\n  --threads N,N  counts\n');
  });

  test('--help anywhere asks for the usage; a sub-command is read first', () => {
    expect(args.parseFlags(SPEC, ['--epochs', '3', '--help']).help).toBe(true);
    const spec = { ...SPEC, commands: ['dump', 'train'] };
    expect(args.parseFlags(spec, ['train', '--lr', '1']).command).toBe('train');
    expect(() => args.parseFlags(spec, ['trian'])).toThrow(/^node x\.js: unknown command 'trian' \(known: dump, train\)$/);
    expect(() => args.parseFlags(spec, ['--lr', '1'])).toThrow(/^node x\.js: a command is needed first: dump, train$/);
    expect(args.parseFlags(spec, ['--help']).help).toBe(true);
  });
});

/** Every file of weights/ (recursively) with its size and modification time. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...snapshot(file));
    else {
      const st = fs.statSync(file);
      out.push(`${file} ${st.size} ${st.mtimeMs}`);
    }
  }
  return out.sort();
}

function run(script: string, argv: string[]) {
  return spawnSync(process.execPath, [path.join(ROOT, script), ...argv], { cwd: ROOT, encoding: 'utf8', timeout: 30000 });
}

describe('the scripts of weights/ refuse what they do not know, and write nothing', () => {
  const weightsDir = path.join(ROOT, 'weights');
  let tmp = '';
  let before: string[] = [];
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gradlens-flags-'));
    before = snapshot(weightsDir);
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('train.js --help prints the usage and exits 0 without training', () => {
    const r = run('weights/train.js', ['--help']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: node weights\/train\.js/);
    for (const flag of ['--model', '--epochs', '--budget-minutes', '--no-decay-norms', '--stem', '--out'])
      expect(r.stdout).toContain(`\n  ${flag}`);
    expect(snapshot(weightsDir)).toEqual(before);
  });

  test.each<[string, string[], RegExp]>([
    [
      'weights/train.js',
      ['--model', 'vit', '--epoch', '30', '--out', 'OUT'],
      /unknown option '--epoch' \(did you mean '--epochs'\?\); options: --model, --epochs, /,
    ],
    ['weights/train.js', ['--model', 'vit', '--epochs', 'ten', '--out', 'OUT'], /--epochs must be a number, got 'ten'/],
    ['weights/train.js', ['--model', 'vit', '--out', 'OUT', '--workers'], /--workers needs a value/],
    [
      'weights/time-workers.js',
      ['--threads', '2'],
      /unknown option '--threads'; options: --model, --bn, --batch, --steps, --warmup, --workers/,
    ],
    ['weights/make-samples.js', ['--cout', '3'], /unknown option '--cout' \(did you mean '--count'\?\); options: --count/],
    ['scripts/vit-probe.js', ['dump', '--out', 'OUT', '--picture', '10'], /unknown option '--picture' \(did you mean '--pictures'\?\)/],
    ['scripts/vit-probe.js', ['--out', 'OUT', '--steps', '10'], /a command is needed first: dump, init, train/],
  ])('%s %j: one line naming the flag, exit 2, nothing written', (script, argv, message) => {
    // OUT: a folder the script would create (train.js, vit-probe.js); the others write into weights/ or nowhere.
    const out = path.join(tmp, `${path.basename(script)}${argv.join('_')}`);
    const r = run(
      script,
      argv.map((a) => (a === 'OUT' ? out : a)),
    );
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`^node ${script.replace('.', '\\.')}: `));
    expect(r.stderr).toMatch(message);
    expect(fs.existsSync(out)).toBe(false);
    expect(snapshot(weightsDir)).toEqual(before);
  });

  test.each(['weights/time-workers.js', 'weights/make-samples.js', 'scripts/vit-probe.js'])(
    '%s --help prints its flags and exits 0',
    (script) => {
      const r = run(script, ['--help']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: node ${script.replace('.', '\\.')}`));
      expect(r.stdout).toMatch(/\n {2}--help +print this and exit\n/);
      expect(snapshot(weightsDir)).toEqual(before);
    },
  );
});
