import { galleryTable, groupMethods } from '../src/gallery';
import { METHODS } from '../src/methods';
import { progressBatch } from '../src/commands/explain';
import { duration, progressReporter } from '../src/progress';

describe('the gallery table', () => {
  const methods = METHODS.filter((m) => ['vanilla', 'gradcam', 'lrp', 'occlusion', 'scorecam'].includes(m.name));
  test('groups the methods by the kind of map, keeping their order within a group', () => {
    const { ordered, groups } = groupMethods(methods);
    expect(ordered.map((m) => m.name)).toEqual(['vanilla', 'lrp', 'gradcam', 'scorecam', 'occlusion']);
    expect(groups.map((g) => g.count)).toEqual([2, 2, 1]);
  });
  test('marks misclassified rows and says so above the table', () => {
    const cells = new Map(methods.map((m) => [m.name, `${m.name}.png`]));
    const html = galleryTable(
      [
        { name: 'a', input: 'a.png', label: '3 (Dress)', predicted: '3 (Dress)', wrong: false, cells },
        { name: 'b', input: 'b.png', label: '7 (Sneaker)', predicted: '5 (Sandal)', wrong: true, cells },
      ],
      methods,
      () => 0.5,
    );
    expect(html.match(/<tr class="wrong">/g)).toHaveLength(1);
    expect(html.match(/<tr class="right">/g)).toHaveLength(1);
    expect(html).toMatch(
      /<tr class="wrong"><th class="input">.*predicted 5 \(Sandal\)<\/small><br><b class="wrong-mark">✗ misclassified<\/b>/,
    );
    expect(html).toMatch(/1 of 2 pictures are misclassified/);
    expect(html).toMatch(/<th colspan="2" class="group">Gradients/);
  });
});

describe('progress of many-pass methods', () => {
  const sink = (
    tty: boolean,
  ): {
    text: () => string;
    streams: { stdout: { write: (s: string) => void }; stderr: { write: (s: string) => void; isTTY: boolean } };
  } => {
    let text = '';
    return {
      text: () => text,
      streams: {
        stdout: { write: () => undefined },
        stderr: {
          write: (s: string) => {
            text += s;
          },
          isTTY: tty,
        },
      },
    };
  };
  test('after the first pass: the number of passes and an estimate of the whole; then lines with the time left', () => {
    let t = 0;
    const s = sink(false);
    const p = progressReporter(s.streams, 'scorecam', { batchSize: 16, now: () => t, every: 5000 });
    t = 2000;
    p.update(16, 128);
    expect(s.text()).toBe(
      'scorecam: 128 inputs in 8 passes of up to 16; the first 16 took 2.0s, so about 16s in all (the first carries the set-up; later lines refine it)\n',
    );
    t = 3000;
    p.update(20, 128); // no quarter reached and less than 5 s since the last line: quiet
    expect(s.text().split('\n')).toHaveLength(2);
    t = 8000;
    p.update(30, 128); // 5 s without a line: one, with the time left at the rate since the first pass
    expect(s.text()).toMatch(/scorecam {2}30\/128 {2}23% {2}8\.0s, about 42s left\n$/);
    t = 9000;
    p.update(32, 128); // a quarter
    expect(s.text()).toMatch(/scorecam {2}32\/128 {2}25% {2}9\.0s, about 42s left\n$/);
    p.end();
  });
  test('on a terminal: one line redrawn in place', () => {
    let t = 0;
    const s = sink(true);
    const p = progressReporter(s.streams, 'ig', { now: () => t });
    t = 500;
    p.update(10, 50);
    t = 1000;
    p.update(20, 50);
    p.end();
    expect(s.text()).toMatch(
      /^ig: 50 inputs; the first 10 took 0\.5s, so about 2\.5s in all \(the first carries the set-up; later lines refine it\)\n\rig {2}20\/50 {2}40% {2}1\.0s, about 1\.5s left\x1b\[K\n$/,
    );
  });
  test('durations read as people read them', () => {
    expect([duration(4.25), duration(45), duration(200), duration(3 * 3600 + 120)]).toEqual(['4.3s', '45s', '3m 20s', '3h 02m']);
  });
});

test('explain picks batches that keep a batched pass near two seconds (progress every few seconds on VGG16)', () => {
  expect(progressBatch(2, 16)).toBe(16); // gapnet: a couple of milliseconds a pass
  expect(progressBatch(300, 16)).toBe(2);
  expect(progressBatch(1200, 16)).toBe(1); // VGG16 at 224 on one core
});
