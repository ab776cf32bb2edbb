import * as fs from 'fs';
import * as path from 'path';
import { evaluateMethods, gradCam } from '@gradlens/explain';
import type { EvaluationSample } from '@gradlens/explain';
import { readImage, writeImage } from '@gradlens/io';
import { imageToInput, loadBundledModel } from '@gradlens/nn';
import { main } from '../src/main';
import { captureStreams, FIXTURE_NORM, useWeightsDir } from './fixtures';

let dir: string;
let pics: string;
const weights = useWeightsDir(1);
/** Two pictures of other sizes than the model's 64×64, so the boxes must be scaled. */
const PICS = [
  { file: 'a.png', w: 80, h: 96 },
  { file: 'b.png', w: 128, h: 64 },
];
beforeAll(() => {
  dir = weights();
  pics = path.join(dir, 'pics');
  fs.mkdirSync(pics);
  PICS.forEach(({ file, w, h }, k) => {
    const data = new Uint8Array(w * h * 3);
    for (let i = 0; i < data.length; i++) data[i] = ((i * 7 + k * 31) % 97) + 60;
    for (let y = 10; y < 40; y++) for (let x = 20; x < 60; x++) data.fill(230, (y * w + x) * 3, (y * w + x) * 3 + 3);
    writeImage(path.join(pics, file), { width: w, height: h, channels: 3, bitDepth: 8, data });
  });
});

const ARGS = ['--model', 'gapnet', '--methods', 'gradcam', '--metrics', 'localization,pointing,deletion,sparseness', '--curve-steps', '4'];

test("evaluate --images --boxes (CSV and COCO JSON) scores the user's boxes: the library's table on stretched pictures and scaled boxes", async () => {
  const csv = path.join(dir, 'boxes.csv');
  fs.writeFileSync(csv, 'file,x0,y0,x1,y1,class\na.png,20,10,60,40,Dress\nb.png,20,10,60,40,3\nb.png,0,0,30,30,Sandal\n');
  const coco = path.join(dir, 'boxes.json');
  fs.writeFileSync(
    coco,
    JSON.stringify({
      images: [
        { id: 1, file_name: 'a.png', width: 80, height: 96 },
        { id: 2, file_name: 'b.png', width: 128, height: 64 },
      ],
      annotations: [
        { id: 1, image_id: 1, bbox: [20, 10, 40, 30], category_id: 4 },
        { id: 2, image_id: 2, bbox: [20, 10, 40, 30], category_id: 4 },
        { id: 3, image_id: 2, bbox: [0, 0, 30, 30], category_id: 6 },
      ],
      categories: [
        { id: 4, name: 'Dress' },
        { id: 6, name: 'sandal' },
      ],
    }),
  );
  const tables: unknown[] = [];
  for (const [name, file] of [
    ['csv', csv],
    ['coco', coco],
  ] as const) {
    const out = path.join(dir, `eval-${name}`);
    const s = captureStreams();
    const code = await main(['evaluate', ...ARGS, '--images', pics, '--boxes', file, '--out', out], s);
    expect(s.err()).not.toMatch(/gradlens:/);
    expect(code).toBe(0);
    expect(s.err()).toMatch(/3 boxes on 2 pictures/);
    const json = JSON.parse(fs.readFileSync(path.join(out, 'evaluation.json'), 'utf8')) as { samples: number; values: unknown };
    expect(json.samples).toBe(3);
    tables.push(json.values);
  }
  expect(tables[1]).toEqual(tables[0]);
  // the same table from the library on the same samples
  const { model } = loadBundledModel('gapnet');
  const input = (f: string) =>
    imageToInput(readImage(path.join(pics, f)), { size: 64, resize: 'stretch', mean: FIXTURE_NORM.mean, std: FIXTURE_NORM.std });
  const a = input('a.png');
  const b = input('b.png');
  const samples: EvaluationSample[] = [
    { image: a, label: 3, box: { x0: (20 * 64) / 80, y0: (10 * 64) / 96, x1: (60 * 64) / 80, y1: (40 * 64) / 96 } },
    { image: b, label: 3, box: { x0: 10, y0: 10, x1: 30, y1: 40 } },
    { image: b, label: 5, box: { x0: 0, y0: 0, x1: 15, y1: 30 } },
  ];
  const want = evaluateMethods(
    model,
    samples,
    { gradcam: (m, x, t) => gradCam(m, x, { target: t, onWarning: () => undefined }).map },
    {
      metrics: ['localization', 'pointing', 'deletion', 'sparseness'],
      deletion: { steps: 4, batchSize: 32 },
      insertion: { steps: 4, batchSize: 32 },
      randomization: { samples: 4 },
    },
  );
  expect(tables[0]).toEqual(JSON.parse(JSON.stringify(want.values)));
});

test.each([
  [
    'a box outside its picture',
    'a.png,20,10,90,40,3\nb.png,0,0,10,10,3\n',
    /boxes.csv line 1: box \[20, 10, 90, 40\] is outside a.png \(80×96\)/,
  ],
  ['an empty box', 'a.png,20,10,20,40,3\nb.png,0,0,10,10,3\n', /box \[20, 10, 20, 40\] is empty/],
  ['a picture without boxes', 'a.png,20,10,60,40,3\n', /1 picture has no box in boxes.csv: b.png/],
  [
    'a box on a picture not in the folder',
    'a.png,20,10,60,40,3\nb.png,0,0,10,10,3\nc.png,0,0,10,10,3\n',
    /line 3: picture 'c.png' is not among the pictures/,
  ],
  [
    'an unknown class',
    'a.png,20,10,60,40,Dres\nb.png,0,0,10,10,3\n',
    /line 1: class 'Dres' is not a class of the model \(did you mean 'Dress'\?\)/,
  ],
  ['a class out of range', 'a.png,20,10,60,40,12\nb.png,0,0,10,10,3\n', /class 12 is out of range: the model has 10 classes/],
  ['a row of five fields', 'a.png,20,10,60,40\n', /line 1: expected file,x0,y0,x1,y1,class, got 5 fields/],
  ['a coordinate that is not a number', 'a.png,20,ten,60,40,3\n', /line 1: y0 must be a number, got 'ten'/],
])('%s is a one-line error naming the box', async (_name, text, msg) => {
  fs.writeFileSync(path.join(dir, 'boxes.csv'), text);
  const s = captureStreams();
  const out = path.join(dir, 'never');
  expect(await main(['evaluate', ...ARGS, '--images', pics, '--boxes', path.join(dir, 'boxes.csv'), '--out', out], s)).toBe(2);
  expect(s.err()).toMatch(msg);
  expect(s.err().trim().split('\n')).toHaveLength(1);
  expect(fs.existsSync(out)).toBe(false);
});

test('--images without --boxes, --boxes without --images, and bad COCO files are usage errors', async () => {
  const cases: [string[], RegExp][] = [
    [['--images', pics], /--images needs --boxes/],
    [['--boxes', 'x.csv'], /--boxes goes with --images/],
    [['--images', pics, '--boxes', path.join(dir, 'none.json')], /--boxes: file not found/],
  ];
  fs.writeFileSync(path.join(dir, 'bad.json'), '{"images": []}');
  cases.push([['--images', pics, '--boxes', path.join(dir, 'bad.json')], /expected COCO-style JSON with "images" and "annotations"/]);
  fs.writeFileSync(
    path.join(dir, 'bad2.json'),
    JSON.stringify({ images: [{ id: 1, file_name: 'a.png' }], annotations: [{ image_id: 1, bbox: [1, 2, 3], category_id: 1 }] }),
  );
  cases.push([['--images', pics, '--boxes', path.join(dir, 'bad2.json')], /annotations\[0\]: bbox must be \[x, y, width, height\]/]);
  // a bbox of 100 000 numbers is quoted as a short excerpt; an image_id nested past JSON.stringify's stack is described
  fs.writeFileSync(
    path.join(dir, 'huge.json'),
    JSON.stringify({
      images: [{ id: 1, file_name: 'a.png' }],
      annotations: [{ image_id: 1, bbox: new Array<number>(1e5).fill(7), category_id: 1 }],
    }),
  );
  cases.push([
    ['--images', pics, '--boxes', path.join(dir, 'huge.json')],
    /bbox must be \[x, y, width, height\], got \[7(,7){39}… \(200001 characters\)$/m,
  ]);
  fs.writeFileSync(
    path.join(dir, 'deep.json'),
    `{"images":[{"id":1,"file_name":"a.png"}],"annotations":[{"image_id":${'['.repeat(1e6)}${']'.repeat(1e6)},"bbox":[1,2,3,4],"category_id":1}]}`,
  );
  cases.push([
    ['--images', pics, '--boxes', path.join(dir, 'deep.json')],
    /annotations\[0\]: image_id \(a value nested too deeply to show\) is not in "images"/,
  ]);
  for (const [args, msg] of cases) {
    const s = captureStreams();
    expect(await main(['evaluate', ...ARGS, ...args, '--out', path.join(dir, 'never')], s)).toBe(2);
    expect(s.err()).toMatch(msg);
  }
});
