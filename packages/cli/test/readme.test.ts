import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';
import { decodeImage } from '@gradlens/io';

/**
 * Compiles (strict TypeScript, as a user's project would) and runs every ```ts block of the README,
 * read from README.md at test time, so the examples cannot drift from the code.
 *
 * Substitution mechanism: a block that needs a file not in the repository (vgg16.pth) or a name an
 * earlier block defined gets an entry in ADAPT below: `prelude` (code put before the block; its
 * imports use `__`-prefixed names so they cannot clash) and `replace` ([from, to] pairs applied to
 * the block's text). Each entry is found by a line of its block, and every `from` must occur, so a
 * stale entry fails the test. The first block (picture to saved map) has no entry: it runs as written.
 * Each block's body runs inside an async function (its imports stay at the top), so `await` works.
 */
const ROOT = path.resolve(__dirname, '..', '..', '..');

interface Adapt {
  prelude?: string;
  replace?: [string, string][];
}
const SMALL_VGG = "__nn.createModel('vgg16', { widthDivisor: 16 }).eval()";
const ADAPT: Record<string, Adapt> = {
  // the tape block continues from a model and an input
  'const { output, tape } = T.record(() => model.call(x));': {
    prelude: `import * as T from '@gradlens/tensor';\nimport * as __nn from '@gradlens/nn';\nconst model = __nn.createModel('vgg16', { widthDivisor: 16, numClasses: 3 }).eval();\nconst x = T.randn([1, 3, 32, 32]);`,
  },
  // the gradients-of-gradients block continues from a function, a point and a direction
  'const [hv] = outer.grad(gv, [x]);': {
    prelude: `import * as T from '@gradlens/tensor';\nconst x = T.randn([5], { dtype: 'float64' });\nconst v = T.randn([5], { dtype: 'float64' });\nconst f = (t: T.Tensor): T.Tensor => T.sum(T.mul(T.tanh(t), t));`,
  },
  // VGG16's ImageNet weights cannot be downloaded here: a width-reduced VGG16 and its own checkpoint
  "loadWeights(vgg, 'vgg16.pth');": {
    prelude: `import * as __nn from '@gradlens/nn';\n__nn.saveCheckpoint('vgg16-small.safetensors', ${SMALL_VGG});`,
    replace: [
      ["createModel('vgg16').eval()", "createModel('vgg16', { widthDivisor: 16 }).eval()"],
      ["'vgg16.pth'", "'vgg16-small.safetensors'"],
      ['[1, 3, 224, 224]', '[1, 3, 32, 32]'],
    ],
  },
  // the explain block continues from the VGG16 above and an input
  "const cam = gradCam(vgg, x, { target: 'top1', layer: 'features.29' });": {
    prelude: `import * as __nn from '@gradlens/nn';\nimport * as __T from '@gradlens/tensor';\nconst vgg = ${SMALL_VGG};\nconst x = __T.randn([1, 3, 32, 32]);`,
  },
  // packages/onnx/README.md's YOLO block: the small Ultralytics-layout fixture and its picture
  'const [best] = yoloDetections(model, x, layout!, { geometry });': {
    replace: [
      ["'yolov8n.onnx'", JSON.stringify(path.join(ROOT, 'packages/onnx/test/fixtures/yolo/yolov8.onnx'))],
      ["'street.jpg'", JSON.stringify(path.join(ROOT, 'packages/onnx/test/fixtures/yolo/picture.png'))],
      ['[1, 84, 8400]', '[1, 7, 84]'],
      ['640', '64'],
    ],
  },
};

/** The ```ts blocks of a markdown text, in order. */
function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

/** A block as a program: imports (prelude's, then the block's) at the top, the rest inside `main`. */
function program(block: string, adapt: Adapt | undefined): string {
  let text = block;
  for (const [from, to] of adapt?.replace ?? []) {
    if (!text.includes(from)) throw new Error(`README test: substitution '${from}' no longer occurs in its block; update ADAPT`);
    text = text.split(from).join(to);
  }
  const lines = `${adapt?.prelude ?? ''}\n${text}`.split('\n');
  const imports = lines.filter((l) => /^import /.test(l));
  const body = lines.filter((l) => !/^import /.test(l));
  return `${imports.join('\n')}\n\nasync function main(): Promise<void> {\n${body.join('\n')}\n}\n\nmain().catch((e: unknown) => { console.error(e); process.exit(1); });\n`;
}

const blocks = [
  ...tsBlocks(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')),
  // a package README's block that runs on the repository's fixtures
  ...tsBlocks(fs.readFileSync(path.join(ROOT, 'packages', 'onnx', 'README.md'), 'utf8')).filter((b) => b.includes('yoloTarget(')),
];
let work: string;
beforeAll(() => {
  // inside the repository, so '@gradlens/*' resolve to the workspace packages as an installed project's would
  work = fs.mkdtempSync(path.join(ROOT, '.readme-test-'));
  fs.symlinkSync(path.join(ROOT, 'weights'), path.join(work, 'weights'));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

test('the README has TypeScript blocks, every ADAPT entry matches one, and the first runs as written', () => {
  expect(blocks.length).toBeGreaterThanOrEqual(4);
  for (const key of Object.keys(ADAPT)) expect(blocks.filter((b) => b.includes(key))).toHaveLength(1);
  const first = blocks[0]!;
  expect(Object.keys(ADAPT).some((k) => first.includes(k))).toBe(false);
  expect(first).toMatch(/readImage\(/);
  expect(first).toMatch(/saveMap\(/);
  expect(first.trim().split('\n').length).toBeLessThanOrEqual(8);
  // examples/ holds the same program
  const example = fs
    .readFileSync(path.join(ROOT, 'examples', 'explain-a-picture.ts'), 'utf8')
    .split('\n')
    .filter((l) => !l.startsWith('//'))
    .join('\n');
  expect(example.trim()).toBe(first.trim());
});

test('every README TypeScript block compiles under strict settings and runs', () => {
  const files = blocks.map((b, i) => {
    const key = Object.keys(ADAPT).find((k) => b.includes(k));
    const file = path.join(work, `block${i}.ts`);
    fs.writeFileSync(file, program(b, key === undefined ? undefined : ADAPT[key]));
    return file;
  });
  const options: ts.CompilerOptions = {
    strict: true,
    noUncheckedIndexedAccess: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    esModuleInterop: true,
    skipLibCheck: true,
    types: ['node'],
    outDir: work,
  };
  const prog = ts.createProgram(files, options);
  const emitted = prog.emit();
  const diagnostics = [...ts.getPreEmitDiagnostics(prog), ...emitted.diagnostics].map((d) => {
    const where =
      d.file && d.start !== undefined ? `${path.basename(d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1} ` : '';
    return `${where}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
  expect(diagnostics).toEqual([]);
  files.forEach((f, i) => {
    const r = spawnSync(process.execPath, [f.replace(/\.ts$/, '.js')], { cwd: work, encoding: 'utf8', timeout: 120000 });
    if (r.status !== 0)
      throw new Error(`README block ${i} failed (exit ${r.status}):\n${r.stderr}\n--- program ---\n${fs.readFileSync(f, 'utf8')}`);
  });
  // the first block wrote the Grad-CAM over the 64 × 64 sample, with its colour bar under it
  const png = decodeImage(fs.readFileSync(path.join(work, 'gradcam.png')));
  expect([png.width, png.height]).toEqual([64, 64 + 2 + 6]);
}, 240000);
