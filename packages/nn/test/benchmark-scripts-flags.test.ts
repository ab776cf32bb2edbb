import { spawnSync } from 'child_process';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/**
 * The benchmark scripts read their flags with scripts/flags.js, as the training scripts do: `--help` lists
 * them and a mistyped or malformed flag stops the script with one line and exit code 2 before it loads a
 * model, starts a browser or spawns Python. Each spawn here only parses, so the whole file takes seconds.
 * (Before, `op-profile.js --thread 2` threw a stack trace, `ab.js --rounds` (then overlap-ab.js) silently took the
 * default, and `suites/models.js --model vgg16` ran all seven models.)
 */
function run(script: string, argv: string[]) {
  return spawnSync(process.execPath, [path.join(ROOT, script), ...argv], { cwd: ROOT, encoding: 'utf8', timeout: 30000 });
}

/** Each script and the flags it has always taken (benchmarks/README.md and each script's header). */
const SCRIPTS: [string, string[]][] = [
  ['benchmarks/run.js', ['--suite', '--json', '--reps', '--systems', '--max-seconds']],
  ['benchmarks/browser.js', ['--modes', '--reps', '--small', '--ops', '--chromium', '--headed']],
  ['benchmarks/browser-page.js', ['--backend', '--models', '--methods', '--chromium', '--headed']],
  ['benchmarks/op-profile.js', ['--models', '--threads', '--reps', '--top', '--json']],
  ['benchmarks/ab.js', ['--switch', '--models', '--threads', '--rounds']],
  ['benchmarks/onnx-bench.js', ['--models', '--reps', '--only', '--dir', '--json']],
  ['benchmarks/relaxed-simd-probe.js', ['--chains', '--steps']],
  ['benchmarks/suites/batchnorm.js', ['--dist', '--reps']],
  ['benchmarks/suites/gpujs.js', ['--json']],
  ['benchmarks/suites/models.js', ['--json', '--models', '--systems', '--threads', '--no-winograd', '--reps', '--max-seconds']],
  ['benchmarks/suites/perturbation.js', ['--size', '--threads', '--systems', '--methods', '--weights', '--json']],
  ['benchmarks/thread-agreement.js', ['--models', '--threads', '--tolerance']],
  ['benchmarks/winograd-layers.js', ['--threads', '--reps']],
];

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The command line was refused: nothing on stdout, one line on stderr that names the script, exit 2. */
function expectRefused(r: ReturnType<typeof run>, script: string, message: RegExp) {
  expect(r.stdout).toBe('');
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(new RegExp(`^node ${escape(script)}: `));
  expect(r.stderr).toMatch(message);
  expect(r.status).toBe(2);
}

describe('the benchmark scripts read their flags before any work', () => {
  test.each(SCRIPTS)('%s --help lists its flags and exits 0', (script, flags) => {
    const r = run(script, ['--help']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^usage: node ${escape(script)} `));
    for (const flag of flags) expect(r.stdout).toMatch(new RegExp(`\\n {2}${escape(flag)}[ \\n]`));
    expect(r.stdout).toMatch(/\n {2}--help +print this and exit\n$/);
  });

  test.each(SCRIPTS)('%s refuses a mistyped flag, naming the nearest one', (script, flags) => {
    // A typo one letter short of the script's own last flag (--json → --jso, --max-seconds → --max-second).
    const flag = flags[flags.length - 1]!;
    const typo = flag.slice(0, -1);
    expectRefused(run(script, [typo]), script, new RegExp(`unknown option '${escape(typo)}' \\(did you mean '${escape(flag)}'\\?\\)`));
  });

  test.each<[string, string[], RegExp]>([
    ['benchmarks/run.js', ['--suite'], /--suite needs a value/],
    ['benchmarks/run.js', ['-json'], /unknown option '-json' \(options are spelled --name; --help lists them\)\n$/],
    ['benchmarks/run.js', ['--suite', 'kernel'], /unknown suite 'kernel'; suites: batchnorm, gpujs, kernels, models, perturbation/],
    ['benchmarks/run.js', ['--max-seconds', 'four'], /--max-seconds must be a number, got 'four'/],
    ['benchmarks/browser.js', ['--reps', '2', '--reps', '3'], /--reps given twice/],
    ['benchmarks/browser.js', ['--small', 'maybe'], /unexpected argument 'maybe'/],
    ['benchmarks/onnx-bench.js', ['--reps', 'three'], /--reps must be a number, got 'three'/],
    ['benchmarks/op-profile.js', ['--threads', '1,two'], /--threads must be numbers separated by commas \(as 1,2\), got '1,two'/],
    ['benchmarks/op-profile.js', ['--threads', '0,2'], /--threads takes counts >= 1, as 1,2, got '0,2'/],
    ['benchmarks/op-profile.js', ['--reps', '1.5'], /--reps takes a count >= 1, got '1.5'/],
    ['benchmarks/ab.js', ['--rounds'], /--rounds needs a value/],
    ['benchmarks/ab.js', ['--switch', 'fast'], /unknown --switch 'fast'; settings: resident, overlap, tile-split, spin/],
    ['benchmarks/suites/models.js', ['--model', 'vgg16'], /unknown option '--model' \(did you mean '--models'\?\)/],
    ['benchmarks/suites/perturbation.js', ['--size', 'big'], /--size must be a number, got 'big'/],
  ])('%s %j: one line naming the flag, exit 2', (script, argv, message) => {
    expectRefused(run(script, argv), script, message);
  });

  // The command lines benchmarks/README.md documents still parse: with --help appended, each is read in full
  // (an unknown or malformed flag anywhere would exit 2) and then only prints the usage.
  test.each<[string, string[]]>([
    [
      'benchmarks/run.js',
      ['--suite', 'kernels', '--json', '--systems', 'gradlens-cpu,gradlens-cpu-2t,pytorch,pytorch-2t', '--reps', '5', '--max-seconds', '2'],
    ],
    ['benchmarks/run.js', ['--systems', 'gradlens-cpu', '--reps', '9']],
    [
      'benchmarks/suites/models.js',
      [
        '--json',
        '--models',
        'vgg16,resnet50',
        '--systems',
        'gradlens-cpu,pytorch',
        '--threads',
        '1,2',
        '--reps',
        '5',
        '--max-seconds',
        '40',
      ],
    ],
    ['benchmarks/suites/models.js', ['--no-winograd', '--models', 'vgg16']],
    ['benchmarks/suites/perturbation.js', ['--size', '224', '--threads', '2', '--methods', 'scorecam']],
    ['benchmarks/op-profile.js', ['--models', 'vgg16,resnet50', '--threads', '1,2', '--reps', '3']],
    ['benchmarks/ab.js', ['--switch', 'overlap', '--models', 'vgg16,alexnet', '--threads', '2', '--rounds', '5']],
    ['benchmarks/ab.js', ['--switch', 'resident', '--models', 'vgg16,resnet50', '--threads', '1,2', '--rounds', '5']],
    ['benchmarks/suites/batchnorm.js', ['--dist', 'packages/tensor/dist']],
    ['benchmarks/suites/gpujs.js', ['--json']],
    [
      'benchmarks/onnx-bench.js',
      ['--models', 'resnet50,resnet50_bn,vit_b_16', '--reps', '3', '--only', 'load', '--dir', os.tmpdir(), '--json'],
    ],
    [
      'benchmarks/browser.js',
      [
        '--modes',
        'cpu,webgl2,webgpu',
        '--reps',
        '3',
        '--small',
        '--ops',
        'layerNorm,softmax',
        '--chromium',
        '/usr/bin/chromium',
        '--headed',
      ],
    ],
    ['benchmarks/browser-page.js', ['--backend', 'gpujs:webgl2', '--models', 'gapnet,vit', '--methods', 'gradcam,guided,lrp']],
  ])('%s %j parses (checked with --help appended)', (script, argv) => {
    const r = run(script, [...argv, '--help']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: /);
  });

  test("onnx-bench.js's own re-invocation, --child SYSTEM FILE, is not read as flags", () => {
    // measureLoad spawns `onnx-bench.js --child gradlens FILE`: the child loads FILE (missing here) instead of refusing.
    const file = path.join(os.tmpdir(), 'gradlens-no-such-model.onnx');
    const r = run('benchmarks/onnx-bench.js', ['--child', 'gradlens-decode', file]);
    expect(r.stderr).not.toMatch(/unknown option|--help for the usage/);
    expect(r.stderr).toContain(`cannot read ${file}`);
    expect(r.status).toBe(1);
  });
});
