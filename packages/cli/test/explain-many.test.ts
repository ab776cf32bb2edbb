import * as fs from 'fs';
import * as path from 'path';
import { gradCam } from '@gradlens/explain';
import { readImage, readNpy, toFloat32 } from '@gradlens/io';
import { imageToInput, loadBundledModel } from '@gradlens/nn';
import { main } from '../src/main';
import { uniqueStems } from '../src/picture-list';
import { captureStreams, FIXTURE_NORM, useWeightsDir } from './fixtures';

let dir: string;
let pics: string;
const weights = useWeightsDir(3);
beforeAll(() => {
  dir = weights();
  pics = path.join(dir, 'pics');
  fs.mkdirSync(pics);
  for (const f of ['sample-0.png', 'sample-1.png', 'sample-2.png']) fs.copyFileSync(path.join(dir, 'samples', f), path.join(pics, f));
  fs.writeFileSync(path.join(pics, 'README.txt'), 'not a picture');
});

test("explain --images DIR --targets CSV: one folder per picture, the CSV's classes, an index.html gallery, one progress line", async () => {
  const csv = path.join(dir, 'targets.csv');
  fs.writeFileSync(csv, 'file,class\nsample-1.png,Dress\npics/sample-2.png,"1,3"\n');
  const out = path.join(dir, 'run');
  const s = captureStreams();
  const code = await main(
    ['explain', '--method', 'gradcam,vanilla', '--model', 'gapnet', '--images', pics, '--targets', csv, '--out', out, '--format', 'both'],
    s,
  );
  expect(s.err()).not.toMatch(/gradlens:/);
  expect(code).toBe(0);
  expect(s.err()).toMatch(/warning: --images .*: skipping 1 file that is not a picture .*README.txt/);
  expect(s.err()).toMatch(/^explain {2}3\/3 {2}100%/m);
  expect(s.out()).toMatch(/sample-1.png: class 3 \(Dress\)/);
  expect(s.out()).toMatch(/sample-2.png: the sum of classes 1 \(Trouser\) \+ 3 \(Dress\)/);
  for (const stem of ['sample-0', 'sample-1', 'sample-2']) {
    const files = fs.readdirSync(path.join(out, stem));
    for (const f of [
      `${stem}_input.png`,
      `${stem}_Cam_On_Image.png`,
      `${stem}_Vanilla_BP_color.png`,
      'gradcam.npy',
      'gradcam_upsampled.npy',
      'vanilla.npy',
    ])
      expect(files).toContain(f);
  }
  // the CSV's class is the one explained
  const { model } = loadBundledModel('gapnet');
  const x = imageToInput(readImage(path.join(pics, 'sample-1.png')), { size: 64, mean: FIXTURE_NORM.mean, std: FIXTURE_NORM.std });
  const want = gradCam(model, x, { target: 3, onWarning: () => undefined }).map.dataSync();
  const got = toFloat32(readNpy(path.join(out, 'sample-1', 'gradcam.npy')));
  expect(Array.from(got)).toEqual(Array.from(want, Number));
  const html = fs.readFileSync(path.join(out, 'index.html'), 'utf8');
  for (const stem of ['sample-0', 'sample-1', 'sample-2']) {
    expect(html).toContain(`src="${stem}/${stem}_input.png"`);
    expect(html).toContain(`src="${stem}/${stem}_Cam_On_Image.png"`);
  }
  expect(html).toMatch(/3 pictures × 2 methods/);
});

test('--image a b --flat --format npy: every file in one folder, named after its picture; no gallery without pictures', async () => {
  const out = path.join(dir, 'flat');
  const s = captureStreams();
  const a = path.join(pics, 'sample-0.png');
  const b = path.join(pics, 'sample-1.png');
  expect(
    await main(['explain', '--method', 'vanilla', '--model', 'gapnet', '--image', a, b, '--flat', '--format', 'npy', '--out', out], s),
  ).toBe(0);
  expect(fs.readdirSync(out).sort()).toEqual(['sample-0_vanilla.npy', 'sample-1_vanilla.npy']);
});

test('a picture that cannot be decoded is reported and skipped, the others are explained, exit code 1', async () => {
  const bad = path.join(dir, 'bad');
  fs.mkdirSync(bad);
  fs.copyFileSync(path.join(pics, 'sample-0.png'), path.join(bad, 'good.png'));
  fs.writeFileSync(path.join(bad, 'broken.png'), 'not a png');
  const out = path.join(dir, 'bad-out');
  const s = captureStreams();
  expect(await main(['explain', '--method', 'vanilla', '--model', 'gapnet', '--images', bad, '--out', out], s)).toBe(1);
  expect(s.err()).toMatch(/cannot read the image .*broken.png.*\(skipped\)/);
  expect(s.err()).toMatch(/1 of 2 pictures could not be explained/);
  expect(fs.existsSync(path.join(out, 'good', 'good_Vanilla_BP_color.png'))).toBe(true);
  expect(fs.readFileSync(path.join(out, 'index.html'), 'utf8')).toContain('good/good_input.png');
});

test.each([
  [
    'an empty folder',
    (d: string) => {
      fs.mkdirSync(path.join(d, 'empty'));
      return ['--images', path.join(d, 'empty')];
    },
    /--images .*empty: no pictures in the folder/,
  ],
  [
    'a folder of non-pictures',
    (d: string) => {
      fs.mkdirSync(path.join(d, 'txt'));
      fs.writeFileSync(path.join(d, 'txt', 'a.txt'), 'x');
      return ['--images', path.join(d, 'txt')];
    },
    /no pictures in the folder/,
  ],
  ['a missing folder', (d: string) => ['--images', path.join(d, 'nope')], /--images: folder not found/],
  [
    'a CSV naming a missing file',
    (d: string) => {
      fs.writeFileSync(path.join(d, 'm.csv'), 'ghost.png,3\n');
      return ['--images', pics, '--targets', path.join(d, 'm.csv')];
    },
    /m.csv: line 1: picture 'ghost.png' does not exist/,
  ],
  [
    'a CSV naming a file outside the run',
    (d: string) => {
      fs.writeFileSync(path.join(d, 'o.csv'), `${path.join(d, 'samples', 'sample-0.png')},3\n`);
      return ['--image', path.join(pics, 'sample-1.png'), '--targets', path.join(d, 'o.csv')];
    },
    /is not among the pictures of this run/,
  ],
  [
    'a CSV with a bad class',
    (d: string) => {
      fs.writeFileSync(path.join(d, 'c.csv'), 'sample-0.png,Dres\n');
      return ['--images', pics, '--targets', path.join(d, 'c.csv')];
    },
    /--target 'Dres' is not a class \(did you mean 'Dress'\?\)/,
  ],
  [
    'a CSV row with three fields',
    (d: string) => {
      fs.writeFileSync(path.join(d, 't.csv'), 'sample-0.png,3,4\n');
      return ['--images', pics, '--targets', path.join(d, 't.csv')];
    },
    /line 1: expected two fields file,class/,
  ],
  ['a missing CSV', (d: string) => ['--images', pics, '--targets', path.join(d, 'none.csv')], /--targets: file not found/],
  ['a picture given twice', () => ['--image', path.join(pics, 'sample-0.png'), path.join(pics, 'sample-0.png')], /given twice/],
  ['--flat with one picture', () => ['--image', path.join(pics, 'sample-0.png'), '--flat'], /--flat is for several pictures/],
])('%s is a one-line usage error before any weights load', async (_name, args, msg) => {
  const s = captureStreams();
  const out = path.join(dir, 'never');
  expect(await main(['explain', '--method', 'vanilla', '--model', 'gapnet', '--out', out, ...args(dir)], s)).toBe(2);
  expect(s.err()).toMatch(msg);
  expect(s.err().trim().split('\n')).toHaveLength(s.err().includes('warning:') ? 2 : 1);
  expect(fs.existsSync(out)).toBe(false);
});

test('output names stay unique when two pictures share a name', () => {
  expect(uniqueStems(['a/cat.png', 'b/cat.jpg', 'dog.png'])).toEqual(['cat_png', 'cat_jpg', 'dog']);
  expect(uniqueStems(['a/cat.png', 'b/cat.png'])).toEqual(['cat_png', 'cat_png_2']);
});
