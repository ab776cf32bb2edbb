/**
 * The interactive page: picks a model and a picture, runs methods in the worker, draws the maps over
 * the picture, and shows the recorded tape with a backward-rule picker per op type.
 */
import type { ColormapName } from '@gradlens/io';
import WORKER_SOURCE from 'gradlens:worker-source';
import type { FloatArray, Listing, MethodRow, ModelSource, PredictionRow, RuleChoice, Timing } from '../protocol';
import { WorkerClient } from './client';
import type { Settled } from './client';
import { blend, displayMap, fmt, paint } from './render';
import type { GradientView } from './render';

/** What data.js (written by build.js) puts on the window: the bundled models and sample pictures. */
interface PageData {
  models: { name: string; card: Extract<ModelSource, { kind: 'bundled' }>['card']; weights: string }[];
  samples: { file: string; className: string; png: string }[];
  archs: string[];
}

/** A method's float maps, as the test and the page read them back. */
interface ShownResult {
  method: string;
  kind: 'gradient' | 'cam' | 'occlusion';
  raw: FloatArray;
  upsampled: FloatArray | null;
  target: number | null;
  notes: string[];
  timings: Timing[];
  /** Tape results: the sum and the sum of |·| of what reached each recorded op's output. */
  perNode?: { sum: number; abs: number }[];
}

declare global {
  interface Window {
    GRADLENS_DATA?: PageData;
    /** The page's state, read by the end-to-end test. */
    gradlensPage: {
      results: Record<string, ShownResult>;
      picture: { width: number; height: number; rgb: Uint8Array } | null;
      /** The current picture's prediction rows: its top-5 classes, a segmentation model's classes by pixels, or detections. */
      top: PredictionRow[];
      /** What the rows are. */
      listing: Listing;
      busy: number;
      errors: string[];
    };
  }
}

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page: element #${id} missing`);
  return el as T;
};

const state = (window.gradlensPage = {
  results: {},
  picture: null,
  top: [],
  listing: 'classes',
  busy: 0,
  errors: [],
} as Window['gradlensPage']);
let source: ModelSource | null = null;
let image: { width: number; height: number; rgb: Uint8Array } | null = null;
let backend: { backend: string; mode?: string } = { backend: 'cpu' };
let methods: MethodRow[] = [];
let classes: string[] = [];
/** What the current picture's targets are called in the result cards: `class 3: cat`, `detection 1: label 3, …`. */
let targetNames = new Map<number, string>();
let tapeRecorded = false;

const data: PageData = window.GRADLENS_DATA ?? { models: [], samples: [], archs: [] };

const client = new WorkerClient(WORKER_SOURCE, async (c) => {
  // a fresh worker after a cancel: the same backend, model and picture again
  if (backend.backend !== 'cpu') await c.request({ type: 'backend', ...backend });
  if (source) await c.request({ type: 'load-model', source });
  if (image) await c.request({ type: 'image', ...image });
  tapeRecorded = false;
});

/** Runs `fn` with the busy counter up, reporting an error on the page instead of throwing. */
async function busy<T>(fn: () => Promise<T>): Promise<T | undefined> {
  state.busy++;
  document.body.dataset.busy = String(state.busy);
  try {
    return await fn();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (msg !== 'cancelled') {
      state.errors.push(msg);
      setStatus(`error: ${msg}`, true);
    }
    return undefined;
  } finally {
    state.busy--;
    document.body.dataset.busy = String(state.busy);
  }
}

function setStatus(text: string, error = false): void {
  const el = $('status');
  el.textContent = text;
  el.classList.toggle('error', error);
}

function addTimings(timings: readonly Timing[]): void {
  const body = $('timings').querySelector('tbody')!;
  for (const t of timings) {
    const tr = document.createElement('tr');
    for (const v of [t.runs ? `${t.step} (${runsNote(t)})` : t.step, t.ms.toFixed(1), t.backend, onCpu(t)]) tr.appendChild(cell(v));
    body.prepend(tr);
  }
}

/** A replayed step's runs, and how many kernel launches the replays took from the previous run (WebGPU). */
const runsNote = (t: Timing): string => `${t.runs} runs${t.reused ? `; ${t.launches ?? 0} kernels run, ${t.reused} launches reused` : ''}`;

/** What of a step ran on the CPU instead of the selected GPU backend ('' when nothing did, or on the CPU backend). */
function onCpu(t: Timing): string {
  return [t.cpuOps ? `no kernel: ${t.cpuOps}` : '', t.cpuFallbacks ? `declined: ${t.cpuFallbacks}` : ''].filter((s) => s !== '').join('; ');
}

function cell(text: string, tag: 'td' | 'th' = 'td'): HTMLElement {
  const el = document.createElement(tag);
  el.textContent = text;
  return el;
}

function option(value: string, text: string, selected = false): HTMLOptionElement {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = text;
  o.selected = selected;
  return o;
}

const base64Bytes = (b64: string): Uint8Array<ArrayBuffer> => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

/** A picture file's RGB pixels, decoded by the browser without colour management. */
async function decodePicture(blob: Blob): Promise<{ width: number; height: number; rgb: Uint8Array }> {
  const bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const canvas = document.createElement('canvas');
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(bitmap, 0, 0);
  const rgba = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
  const rgb = new Uint8Array(bitmap.width * bitmap.height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i]!;
    rgb[j + 1] = rgba[i + 1]!;
    rgb[j + 2] = rgba[i + 2]!;
  }
  return { width: bitmap.width, height: bitmap.height, rgb };
}

async function loadModel(next: ModelSource): Promise<void> {
  await busy(async () => {
    setStatus(`loading ${next.kind === 'bundled' ? next.name : next.fileName}…`);
    const r = expect(await client.request({ type: 'load-model', source: next }), 'model');
    source = next;
    classes = r.classes;
    methods = r.methods;
    addTimings(r.timings);
    fillLayers(
      r.layers.filter((l) => l.cam).map((l) => [l.path, `${l.path}  ${l.type} [${l.shape!.join(', ')}]`]),
      r.defaultLayer,
    );
    fillMethods();
    clearResults();
    setStatus(`${r.name}: ${r.detection ? 'a detection model (its detections’ scores)' : `${r.classes.length} classes`}, input ${r.input}`);
    if (image) await setPicture(image);
  });
}

function fillLayers(rows: [string, string][], chosen: string): void {
  const sel = $<HTMLSelectElement>('layer-select');
  sel.replaceChildren(...rows.map(([v, t]) => option(v, t, v === chosen)));
}

const DEFAULT_METHODS = new Set(['gradcam', 'guided', 'lrp']);

function fillMethods(): void {
  const box = $('methods');
  box.replaceChildren(
    ...methods.map((m) => {
      const label = document.createElement('label');
      label.title = m.summary;
      const cb = document.createElement('input');
      cb.type = 'checkbox';
      cb.value = m.name;
      cb.checked = DEFAULT_METHODS.has(m.name);
      label.append(cb, ` ${m.title}${m.manyPasses ? ' ⟳' : ''}`);
      return label;
    }),
  );
}

function clearResults(): void {
  state.results = {};
  $('results').replaceChildren();
  $('tape-result').replaceChildren();
  $('rule-pickers').replaceChildren();
  $('preset-note').hidden = true;
  $('tape-table').querySelector('tbody')!.replaceChildren();
  tapeRecorded = false;
}

async function setPicture(next: { width: number; height: number; rgb: Uint8Array }): Promise<void> {
  await busy(async () => {
    if (!source) throw new Error('choose a model first');
    const r = expect(await client.request({ type: 'image', ...next }), 'predictions');
    image = next;
    state.picture = r.picture;
    state.top = r.top;
    state.listing = r.listing;
    addTimings(r.timings);
    clearResults();
    $('top5')
      .querySelector('thead')!
      .replaceChildren(row(COLUMNS[r.listing].map((c) => cell(c, 'th'))));
    const body = $('top5').querySelector('tbody')!;
    body.replaceChildren(
      ...r.top.map((t) => {
        const tr = row(predictionCells(t).map((c) => cell(c)));
        tr.addEventListener('click', () => {
          $<HTMLSelectElement>('target-select').value = String(t.index);
        });
        return tr;
      }),
    );
    targetNames = new Map(r.targets.map((t) => [t.index, t.label.replace(/^\d+: /, '')]));
    const sel = $<HTMLSelectElement>('target-select');
    sel.replaceChildren(option('', r.defaultTarget, true), ...r.targets.map((t) => option(String(t.index), t.label)));
  });
}

/** The prediction table's columns for each kind of output. */
const COLUMNS: Record<Listing, string[]> = {
  classes: ['class', 'probability', 'logit'],
  pixels: ['class', 'pixels', 'count'],
  detections: ['detection', 'score', 'box'],
};

function predictionCells(t: PredictionRow): string[] {
  if (t.kind === 'class') return [t.name, `${(t.probability * 100).toFixed(1)}%`, t.logit.toFixed(3)];
  if (t.kind === 'pixels') return [t.name, `${(t.share * 100).toFixed(1)}%`, String(t.pixels)];
  return [`${t.index}: ${t.name}`, t.score.toFixed(3), t.box ? `[${t.box.map((v) => Math.round(v)).join(', ')}]` : ''];
}

function row(cells: HTMLElement[]): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.append(...cells);
  return tr;
}

function expect<K extends Settled['type']>(r: Settled, type: K): Extract<Settled, { type: K }> {
  if (r.type !== type) throw new Error(`the worker answered '${r.type}', expected '${type}'`);
  return r as Extract<Settled, { type: K }>;
}

const target = (): number | null => {
  const v = $<HTMLSelectElement>('target-select').value;
  return v === '' ? null : Number(v);
};

/** One result card: the map over the picture, its raw range, timings and notes. */
function showResult(into: HTMLElement, title: string, r: ShownResult): void {
  state.results[r.method] = r;
  let card = into.querySelector<HTMLElement>(`[data-method="${CSS.escape(r.method)}"]`);
  if (!card) {
    card = document.createElement('figure');
    card.dataset.method = r.method;
    into.appendChild(card);
  }
  const canvas = document.createElement('canvas');
  canvas.className = 'map';
  const caption = document.createElement('figcaption');
  card.replaceChildren(canvas, caption);
  card.dataset.state = 'done';
  drawCard(card);
  const b = r.timings.map((t) => `${t.ms.toFixed(0)} ms on ${t.backend}${t.runs ? ` (${runsNote(t)}: awaited reads)` : ''}`).join(', ');
  const cpu = r.timings.map(onCpu).filter((s) => s !== '');
  const range = card.dataset.range ?? '';
  caption.append(
    cell(title, 'th'),
    document.createElement('br'),
    `raw range ${range}`,
    document.createElement('br'),
    b,
    ...cpu.flatMap((c) => [document.createElement('br'), `on the CPU (${c})`]),
    ...r.notes.flatMap((n) => [document.createElement('br'), n]),
    document.createElement('br'),
    r.target === null
      ? ''
      : state.listing === 'detections'
        ? `detection ${r.target}: ${targetNames.get(r.target) ?? ''}`
        : `class ${r.target}: ${classes[r.target] ?? ''}`,
  );
}

/** (Re)draws one card's canvas with the current colormap, opacity and gradient view. */
function drawCard(card: HTMLElement): void {
  const r = state.results[card.dataset.method ?? ''];
  const picture = state.picture;
  const canvas = card.querySelector('canvas');
  if (!r || !picture || !canvas) return;
  const view = $<HTMLSelectElement>('gradient-view').value as GradientView;
  const map = displayMap(r.kind, r.raw, r.upsampled, view);
  card.dataset.range = `[${fmt(map.min)}, ${fmt(map.max)}]`;
  const colormap = $<HTMLSelectElement>('colormap-select').value as ColormapName;
  const opacity = Number($<HTMLInputElement>('opacity').value);
  paint(canvas, map.width, map.height, blend(picture.rgb, map, colormap, opacity));
}

function redrawAll(): void {
  document.querySelectorAll<HTMLElement>('figure[data-method]').forEach(drawCard);
}

function progress(on: boolean, text = '', value = 0): void {
  $('progress').hidden = !on;
  $<HTMLProgressElement>('progress-bar').value = value;
  $('progress-text').textContent = text;
  $<HTMLButtonElement>('cancel').disabled = !on;
}

async function runSelected(): Promise<void> {
  const chosen = [...$('methods').querySelectorAll<HTMLInputElement>('input:checked')].map((c) => c.value);
  const budget = { samples: Number($<HTMLInputElement>('samples-n').value), steps: Number($<HTMLInputElement>('steps-n').value) };
  for (const name of chosen) {
    const spec = methods.find((m) => m.name === name);
    if (!spec) continue;
    progress(true, `${spec.title}…`, 0);
    const t0 = performance.now();
    const done = await busy(async () => {
      const r = expect(
        await client.request(
          { type: 'run', method: name, target: target(), layer: $<HTMLSelectElement>('layer-select').value, budget },
          (d, total) => {
            const s = (performance.now() - t0) / 1000;
            const left = d > 0 ? (s / d) * (total - d) : NaN;
            progress(
              true,
              `${spec.title}: ${d} / ${total}${Number.isFinite(left) ? `, about ${left.toFixed(0)} s left` : ''}`,
              total > 0 ? d / total : 0,
            );
          },
        ),
        'result',
      );
      addTimings(r.timings);
      showResult($('results'), spec.title, r);
      return true;
    });
    if (!done) break;
  }
  progress(false);
}

/** The rule chosen per op type in the pickers. */
function chosenRules(): Record<string, RuleChoice> {
  const out: Record<string, RuleChoice> = {};
  $('rule-pickers')
    .querySelectorAll<HTMLSelectElement>('select')
    .forEach((s) => {
      out[s.dataset.op!] = s.value as RuleChoice;
    });
  return out;
}

async function recordTape(): Promise<void> {
  await busy(async () => {
    const r = expect(await client.request({ type: 'tape', target: target() }), 'tape');
    addTimings(r.timings);
    tapeRecorded = true;
    // on a transformer the ReLU-rule presets would change nothing and show the plain gradient under their name
    for (const p of ['guided', 'deconvnet']) {
      const b = $('presets').querySelector<HTMLButtonElement>(`button[data-preset="${p}"]`)!;
      b.disabled = r.reluRules !== null;
      b.title = r.reluRules ?? '';
    }
    const note = $('preset-note');
    note.hidden = r.reluRules === null;
    note.textContent = r.reluRules === null ? '' : `Guided backprop and deconvnet do not apply: ${r.reluRules}.`;
    const pickers = $('rule-pickers');
    pickers.replaceChildren(
      ...r.opTypes.map(({ op, choices }) => {
        const label = document.createElement('label');
        const sel = document.createElement('select');
        sel.dataset.op = op;
        sel.append(...choices.map((c) => option(c, c)));
        sel.addEventListener('change', () => void applyRules());
        label.append(`${op} `, sel);
        return label;
      }),
    );
    const body = $('tape-table').querySelector('tbody')!;
    body.replaceChildren(
      ...r.rows.map((row) => {
        const tr = document.createElement('tr');
        tr.dataset.op = row.op;
        tr.append(
          cell(String(row.index)),
          cell(row.op),
          cell(row.scope || '—'),
          cell(row.inputs.map((s) => `[${s.join(', ')}]`).join(' ')),
          cell(`[${row.output.join(', ')}]`),
          cell('vanilla'),
          cell(''),
          cell(''),
        );
        return tr;
      }),
    );
    await applyRules();
  });
}

async function applyRules(): Promise<void> {
  if (!tapeRecorded) return;
  const rules = chosenRules();
  const rows = [...$('tape-table').querySelectorAll<HTMLTableRowElement>('tbody tr')];
  rows.forEach((tr) => {
    tr.children[5]!.textContent = rules[tr.dataset.op!] ?? 'vanilla';
  });
  await busy(async () => {
    const r = expect(await client.request({ type: 'rules', rules }), 'result');
    addTimings(r.timings);
    const swapped = Object.entries(rules).filter(([, c]) => c !== 'vanilla');
    const kinds = new Set(swapped.map(([, c]) => c));
    const title =
      swapped.length === 0
        ? 'vanilla gradient'
        : swapped.length === Object.keys(rules).length && kinds.size === 1
          ? `${[...kinds][0]} on every op`
          : swapped.map(([op, c]) => `${op} ${c}`).join(', ');
    showResult($('tape-result'), `tape: ${title}`, { ...r, method: 'tape' });
    // op by op: what the walk brought to each output (relevance is conserved where the LRP rules are)
    rows.forEach((tr, i) => {
      const at = r.perNode?.[i];
      tr.children[6]!.textContent = at ? fmt(at.sum) : '';
      tr.children[7]!.textContent = at ? fmt(at.abs) : '';
    });
  });
}

/** Sets every picker to the preset's rule where the op takes it, vanilla elsewhere; then recomputes once. */
async function preset(choice: RuleChoice): Promise<void> {
  $('rule-pickers')
    .querySelectorAll<HTMLSelectElement>('select')
    .forEach((s) => {
      s.value = [...s.options].some((o) => o.value === choice) ? choice : 'vanilla';
    });
  await applyRules();
}

function wire(): void {
  const modelSel = $<HTMLSelectElement>('model-select');
  modelSel.replaceChildren(
    ...data.models.map((m) =>
      option(m.name, `${m.name} (${m.card.architecture}, ${((m.card.testAccuracy ?? 0) * 100).toFixed(1)}% test accuracy)`),
    ),
  );
  modelSel.addEventListener('change', () => void loadBundled(modelSel.value));
  $<HTMLSelectElement>('arch-select').replaceChildren(...data.archs.map((a) => option(a, a)));
  $<HTMLInputElement>('model-file').addEventListener('change', (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (!f) return;
    void f.arrayBuffer().then((buf) =>
      loadModel({
        kind: 'file',
        fileName: f.name,
        bytes: new Uint8Array(buf),
        arch: $<HTMLSelectElement>('arch-select').value,
        size: $<HTMLInputElement>('file-size').value.trim(), // empty: the architecture's own
        numClasses: Number($<HTMLInputElement>('file-classes').value || 0), // empty: the file's own
      }),
    );
  });
  const samples = $('samples');
  samples.replaceChildren(
    ...data.samples.map((s) => {
      const img = document.createElement('img');
      img.src = `data:image/png;base64,${s.png}`;
      img.alt = img.title = s.className;
      img.dataset.file = s.file;
      img.addEventListener('click', () => void pickSample(s.png));
      return img;
    }),
  );
  $<HTMLInputElement>('image-file').addEventListener('change', (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (f) void busy(async () => setPicture(await decodePicture(f)));
  });
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer?.files[0];
    if (f) void busy(async () => setPicture(await decodePicture(f)));
  });
  for (const id of ['colormap-select', 'opacity', 'gradient-view']) $(id).addEventListener('input', redrawAll);
  $('run').addEventListener('click', () => void runSelected());
  $('cancel').addEventListener('click', () => {
    progress(true, 'cancelling…');
    void client.cancel().then(() => {
      progress(false);
      setStatus('cancelled; the worker was restarted');
    });
  });
  $('record').addEventListener('click', () => void recordTape());
  $('presets')
    .querySelectorAll<HTMLButtonElement>('button')
    .forEach((b) => b.addEventListener('click', () => void preset(b.dataset.preset as RuleChoice)));
  $('target-select').addEventListener('change', () => {
    if (tapeRecorded) void recordTape();
  });
  $<HTMLSelectElement>('backend-select').addEventListener('change', (e) => {
    const [name, mode] = (e.target as HTMLSelectElement).value.split(':');
    void busy(async () => {
      const r = expect(await client.request({ type: 'backend', backend: name!, mode }), 'done');
      backend = { backend: name!, mode };
      addTimings(r.timings);
      tapeRecorded = false;
      setStatus(
        `backend: ${Object.entries(r.info ?? {})
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      );
    });
  });
}

async function pickSample(png: string): Promise<void> {
  await busy(async () => setPicture(await decodePicture(new Blob([base64Bytes(png) as Uint8Array<ArrayBuffer>], { type: 'image/png' }))));
}

async function loadBundled(name: string): Promise<void> {
  const m = data.models.find((x) => x.name === name);
  if (!m) return;
  await loadModel({ kind: 'bundled', name: m.name, card: m.card, weights: base64Bytes(m.weights) });
}

async function start(): Promise<void> {
  wire();
  const hello = await client.whenReady();
  const sel = $<HTMLSelectElement>('backend-select');
  sel.replaceChildren(
    ...hello.backends.map((b) => {
      const o = option(b.mode ? `${b.name}:${b.mode}` : b.name, b.unavailable ? `${b.label} (unavailable: ${b.unavailable})` : b.label);
      o.disabled = b.unavailable !== null;
      return o;
    }),
  );
  if (!hello.isolated) {
    const d = $('degraded');
    d.hidden = false;
    d.textContent =
      location.protocol === 'file:'
        ? 'Opened from a file: no cross-origin isolation, so no SharedArrayBuffer: the CPU backend runs its WebAssembly GEMM on one thread only. `gradlens serve` gives the full speed.'
        : 'This page is not cross-origin isolated (COOP/COEP headers missing): no SharedArrayBuffer, so the CPU backend runs its WebAssembly GEMM on one thread only.';
  }
  setStatus(
    `worker ready: ${Object.entries(hello.info)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  const first = data.models[0];
  if (first) await loadBundled(first.name);
  const sample = data.samples[0];
  if (sample) await pickSample(sample.png);
  document.body.dataset.ready = 'true';
}

void start().catch((e: unknown) => setStatus(`error: ${e instanceof Error ? e.message : String(e)}`, true));
