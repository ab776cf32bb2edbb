import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { main } from '../src/main';
import { captureStreams, makeWeightsDir } from './fixtures';
import { haveChromium as browserThere, launchChromium, missingChromium } from '../../../scripts/chromium.cjs';

/**
 * Opens the demo gallery in a real headless browser: Debian's chromium (scripts/chromium.cjs).
 * .ci/run installs chromium; on a machine without it this test is skipped with a message.
 */
const haveChromium = browserThere();
if (!haveChromium) console.warn(missingChromium('gallery test skipped'));
const maybe = haveChromium ? test : test.skip;

let dir: string;
const savedEnv = process.env.GRADLENS_WEIGHTS;
beforeAll(() => {
  dir = makeWeightsDir(2);
  process.env.GRADLENS_WEIGHTS = dir;
});
afterAll(() => {
  if (savedEnv === undefined) delete process.env.GRADLENS_WEIGHTS;
  else process.env.GRADLENS_WEIGHTS = savedEnv;
  fs.rmSync(dir, { recursive: true, force: true });
});

interface PageFacts {
  images: { src: string; ok: boolean }[];
  tables: { cls: string; rows: number; cells: string[] }[];
  /** Each gallery's model (the section it is in) and column titles. */
  galleries: { model: string; heads: string[] }[];
  text: string;
  title: string;
}

maybe(
  'demo --quick writes a self-contained gallery whose pictures all load and whose tables are filled',
  async () => {
    const out = path.join(dir, 'demo');
    const s = captureStreams();
    const code = await main(['demo', '--quick', '--out', out], s);
    expect(s.err()).not.toMatch(/gradlens:/);
    expect(code).toBe(0);
    const index = path.join(out, 'index.html');
    expect(s.out()).toContain(index);
    const html = fs.readFileSync(index, 'utf8');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//); // nothing from the network
    expect(html).not.toMatch(/src="\//); // relative paths only
    // no temporary files left by the atomic writes
    const walk = (d: string): string[] =>
      fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [e.name]));
    expect(walk(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const browser = await launchChromium({ gpu: false, viewport: { width: 1600, height: 1000 } });
    try {
      const page = await browser.context.newPage();
      const requests: string[] = [];
      page.on('request', (r) => {
        requests.push(r.url());
      });
      await page.goto(pathToFileURL(index).href, { waitUntil: 'load' });
      const facts = (await page.evaluate(`(() => ({
      title: document.title,
      images: Array.from(document.images).map((i) => ({ src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0 })),
      tables: Array.from(document.querySelectorAll('table')).map((t) => ({
        cls: t.className,
        rows: t.querySelectorAll('tbody tr').length,
        cells: Array.from(t.querySelectorAll('tbody td')).map((c) => c.textContent.trim() || (c.querySelector('img') ? 'img' : '')),
      })),
      galleries: Array.from(document.querySelectorAll('table.gallery')).map((t) => {
        const before = Array.from(document.querySelectorAll('h2')).filter((h) => h.compareDocumentPosition(t) & Node.DOCUMENT_POSITION_FOLLOWING);
        return {
          model: before[before.length - 1].id,
          heads: Array.from(t.querySelectorAll('thead tr:last-child th')).map((th) => (th.firstChild ? th.firstChild.textContent.trim() : '')),
        };
      }),
      text: document.body.textContent,
    }))()`)) as PageFacts;
      expect(facts.title).toBe('gradlens demo');
      expect(requests.every((u) => u.startsWith('file://'))).toBe(true);
      const broken = facts.images.filter((i) => !i.ok).map((i) => i.src);
      expect(broken).toEqual([]);
      // 3 models × 2 pictures × (input + 17 or more methods) + features + sanity strips
      expect(facts.images.length).toBeGreaterThan(3 * 2 * 18);
      const galleries = facts.tables.filter((t) => t.cls === 'gallery');
      const metrics = facts.tables.filter((t) => t.cls === 'metrics');
      expect(galleries).toHaveLength(3);
      expect(metrics).toHaveLength(3);
      // the ViT's row of maps beside the CNNs': the transformer methods in its gallery only, the ReLU-rule
      // methods and CAM in the CNNs' only, each left out with its reason
      expect(facts.galleries.map((g) => g.model)).toEqual(['gapnet', 'smallvgg', 'vit']);
      const transformer = ['Attention rollout', 'Generic attention', 'Transformer attribution', 'Transformer LRP'];
      const reluRules = ['Guided backprop', 'Deconvnet', 'Guided Grad-CAM'];
      for (const g of facts.galleries) {
        expect(g.heads).toContain('Grad-CAM');
        expect(g.heads).toContain('Integrated gradients');
        for (const t of transformer) expect(g.heads.includes(t)).toBe(g.model === 'vit');
        for (const t of reluRules) expect(g.heads.includes(t)).toBe(g.model !== 'vit');
      }
      expect(facts.galleries.find((g) => g.model === 'gapnet')!.heads).toContain('CAM');
      expect(facts.galleries.find((g) => g.model === 'vit')!.heads).not.toContain('CAM');
      expect(facts.text).toMatch(/Not shown: rollout \(it reads attention probabilities; it needs a vision transformer/);
      expect(facts.text).toMatch(
        /Not shown: guided \(guided backprop's backward rules are defined for ReLU networks; this model's gelu, layerNorm ops/,
      );
      expect(facts.text).toMatch(/Not shown: cam \(CAM needs global average pooling/);
      // the ViT's feature visualisation: stem filters, fixed-size deep dream octaves, said on the page
      expect(facts.text).toMatch(/Filters of conv_proj\.conv_bn_relu_\d\.1, the conv stem's last ReLU/);
      expect(facts.text).toMatch(/position embedding takes exactly 64×64 pictures, so each smaller octave is resized up to 64×64/);
      expect(facts.text).toMatch(
        /Total [^(]+\(gapnet gallery [^)]*, vit gallery [^,]+, vit metrics [^,]+, vit features [^,]+, vit sanity [^)]+\)/,
      );
      for (const g of galleries) {
        expect(g.rows).toBe(2);
        expect(g.cells.every((c) => c === 'img')).toBe(true);
      }
      for (const m of metrics) {
        expect(m.rows).toBeGreaterThanOrEqual(17);
        expect(m.cells.every((c) => c !== '')).toBe(true);
        expect(m.cells.filter((c) => /^-?\d+\.\d{3}$/.test(c)).length).toBeGreaterThan(m.cells.length / 2);
      }
      // a laptop screen: the page itself does not scroll sideways, the gallery scrolls inside its box
      // under a sticky picture column and says so; misclassified rows are marked; the colour bar loads
      await page.setViewportSize({ width: 1366, height: 768 });
      const laptop = (await page.evaluate(`(() => {
      const box = document.querySelector('.scroll');
      const first = box.querySelector('tbody th.input');
      const before = first.getBoundingClientRect().left;
      box.scrollLeft = box.scrollWidth;
      const after = first.getBoundingClientRect().left;
      const rows = Array.from(document.querySelectorAll('table.gallery tbody tr')).map((tr) => {
        const t = tr.querySelector('th.input small').textContent;
        const m = /true (.*)predicted (.*)/.exec(t);
        return { wrong: tr.classList.contains('wrong'), marked: /misclassified/.test(tr.textContent), differ: m !== null && m[1].trim() !== m[2].trim() };
      });
      const bar = document.querySelector('.cbar img');
      return {
        pageWidth: document.documentElement.scrollWidth, boxScrolls: box.scrollWidth > box.clientWidth, moved: box.scrollLeft > 0,
        before, after, boxLeft: box.getBoundingClientRect().left,
        note: (document.querySelector('.scroll-note') || { textContent: '' }).textContent,
        groups: Array.from(document.querySelectorAll('table.gallery th.group')).map((g) => g.textContent),
        rows, bar: bar !== null && bar.complete && bar.naturalWidth === 256,
      };
    })()`)) as {
        pageWidth: number;
        boxScrolls: boolean;
        moved: boolean;
        before: number;
        after: number;
        boxLeft: number;
        note: string;
        groups: string[];
        rows: { wrong: boolean; marked: boolean; differ: boolean }[];
        bar: boolean;
      };
      expect(laptop.pageWidth).toBeLessThanOrEqual(1366);
      expect(laptop.boxScrolls).toBe(true);
      expect(laptop.moved).toBe(true);
      expect(laptop.after).toBeCloseTo(laptop.boxLeft, 0); // the picture column stayed at the box's left edge
      expect(laptop.note).toMatch(/scrolls sideways .* picture column stays/);
      expect(laptop.groups.length).toBeGreaterThanOrEqual(3);
      expect(laptop.rows.length).toBe(6);
      for (const r of laptop.rows) {
        expect(r.wrong).toBe(r.differ);
        expect(r.marked).toBe(r.differ);
      }
      expect(laptop.bar).toBe(true);
      const shot = path.join(os.tmpdir(), 'gradlens-gallery.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect(fs.statSync(shot).size).toBeGreaterThan(10000);
    } finally {
      await browser.close();
    }
  },
  // the whole demo: about 4 min on a quiet 2-core machine, 10–11 min under the load of parallel test runs
  1_200_000,
);
