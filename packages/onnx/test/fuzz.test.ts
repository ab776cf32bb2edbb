/**
 * Seeded fuzz of the ONNX importer: byte mutations and truncations of small real exports, then
 * structure-aware hostile graphs (cycles, subgraph cycles, deep nesting, huge dims, names with
 * newlines or megabytes) and hostile external data (paths out of the folder, FIFOs, odd offsets).
 * The contract for every case: the model loads, or loadOnnx throws one plain Error whose message is
 * one short line starting with `loadOnnx <where>:` and says what is wrong, within a time bound;
 * never a TypeError or RangeError text from deep inside, never a hang. Valid odd models (NaN and Inf
 * weights, zero-size initializers) must load and compute the right values.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as protobuf from 'protobufjs';
import { Tensor, tidy } from '@gradlens/tensor';
import { loadOnnx } from '@gradlens/onnx';
// the io hostile suite's seeded generator (mulberry32): the same stream of numbers on every run
import { seeded } from '../../io/test/hostile/craft';

const root = protobuf.loadSync(path.join(__dirname, '..', 'onnx.proto'));
const ModelProto = root.lookupType('onnx.ModelProto');
const FIXTURES = path.join(__dirname, 'fixtures');

/** Texts that come from a JS exception deep inside rather than from a check that names the problem. */
const INTERNAL =
  /Cannot read prop|Cannot set prop|is not a function|is not iterable|Invalid array length|Invalid typed array length|Array buffer allocation failed|of undefined|of null|Maximum call stack/;

/** Loads `bytes`; returns 'ok' or the message, after checking the error contract and the time bound. */
function outcome(bytes: Uint8Array | string, what: string, ms = 5000): string {
  const t0 = Date.now();
  let result = 'ok';
  try {
    loadOnnx(bytes);
  } catch (err) {
    const e = err as Error;
    const bad =
      !(e instanceof Error) ||
      e.constructor !== Error ||
      !/^loadOnnx [^:]+: \S/.test(e.message) ||
      /[\n\r]/.test(e.message) ||
      e.message.length > 2100 ||
      INTERNAL.test(e.message);
    if (bad)
      throw new Error(`${what}: not one clear line: ${String(e?.constructor?.name)}: ${JSON.stringify(String(e?.message).slice(0, 400))}`);
    result = e.message;
  }
  const took = Date.now() - t0;
  if (took > ms) throw new Error(`${what}: took ${took} ms`);
  return result;
}

const encode = (msg: object): Uint8Array => ModelProto.encode(ModelProto.fromObject(msg)).finish();
const node = (opType: string, input: string[], output: string[], attribute: object[] = [], name = output[0]) => ({
  name,
  opType,
  input,
  output,
  attribute,
});
const constant = (name: string, t: object) => node('Constant', [], [name], [{ name: 'value', type: 4, t }]);
const yes = constant('c', { dims: [], dataType: 9, int32Data: [1] });
const graph = (nodes: object[], outputs: string[] = ['y']) => ({ name: 's', node: nodes, output: outputs.map((name) => ({ name })) });
const ifNode = (cond: string, out: string, then: object, other: object) =>
  node(
    'If',
    [cond],
    [out],
    [
      { name: 'then_branch', type: 5, g: then },
      { name: 'else_branch', type: 5, g: other },
    ],
  );

/** A model x [1, 2] → nodes → y, with a [2] initializer w, at opset 17. */
function model(nodes: object[], options: { initializer?: object[]; output?: string } = {}): Uint8Array {
  return encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'g',
      node: nodes,
      initializer: options.initializer ?? [{ name: 'w', dims: [2], dataType: 1, floatData: [2, 3] }],
      input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 2 }] } } } }],
      output: [{ name: options.output ?? 'y', type: { tensorType: { elemType: 1 } } }],
    },
  });
}
const mul = (w: object) => model([node('Mul', ['x', 'w'], ['y'])], { initializer: [{ name: 'w', ...w }] });

/** A protobuf varint. */
function varint(v: number): number[] {
  const out: number[] = [];
  for (; v > 127; v = Math.floor(v / 128)) out.push((v & 127) | 128);
  out.push(v);
  return out;
}
/**
 * A ModelProto whose graph nests `depth` graphs in node attributes (GraphProto.node → NodeProto.attribute →
 * AttributeProto.g), built from the inside out: each level is three length prefixes before the level inside.
 */
function deeplyNested(depth: number): Uint8Array {
  const prefixes: number[][] = [];
  let length = 0;
  for (let i = 0; i < depth; i++) {
    const level: number[] = [];
    for (const tag of [0x32, 0x2a, 0x0a]) {
      const head = [tag, ...varint(length)];
      level.unshift(...head);
      length += head.length;
    }
    prefixes.push(level);
  }
  const out = [0x08, 8, 0x3a, ...varint(length)];
  for (let i = prefixes.length - 1; i >= 0; i--) for (const b of prefixes[i]!) out.push(b);
  return Uint8Array.from(out);
}

describe('seeded byte fuzz of real exports', () => {
  const files = ['tiny_classes.onnx', 'wrapped_net.onnx', 'if_branches.onnx', 'loop_carried.onnx', 'scan_sum.onnx', 'seq_loop.onnx'];
  it.each(files)('%s: truncations and byte changes load or fail in one line', (file) => {
    const original = new Uint8Array(fs.readFileSync(path.join(FIXTURES, file)));
    const next = seeded(original.length * 31 + 7);
    let errors = 0;
    for (let trial = 0; trial < 150; trial++) {
      let bytes: Uint8Array;
      let what: string;
      if (trial < 40) {
        const cut = Math.floor(next() * original.length);
        bytes = original.slice(0, cut);
        what = `${file} cut to ${cut} bytes`;
      } else {
        bytes = original.slice();
        const at: number[] = [];
        for (let k = 1 + Math.floor(next() * 3); k > 0; k--) {
          const p = Math.floor(next() * bytes.length);
          at.push(p);
          // half the changes set a byte a field's length or tag would make wild: 0x00, 0x7f, 0x80, 0xff
          bytes[p] = next() < 0.5 ? [0, 0x7f, 0x80, 0xff][Math.floor(next() * 4)]! : Math.floor(next() * 256);
        }
        what = `${file} with bytes ${at.join(', ')} changed`;
      }
      if (outcome(bytes, what) !== 'ok') errors++;
    }
    expect(errors).toBeGreaterThan(40); // every cut but the whole file, at least
  });
});

describe('hostile graphs fail in one line naming the problem', () => {
  const newline = 'a\nb\r\u2028c';
  const cases: [string, Uint8Array, RegExp, number?][] = [
    [
      'a node consuming its own output',
      model([node('Relu', ['y'], ['y'])]),
      /node 'y' \(Relu\).*input 'y' is not computed by any earlier node/,
    ],
    [
      'a two-node cycle',
      model([node('Add', ['x', 'b'], ['a']), node('Relu', ['a'], ['b']), node('Neg', ['b'], ['y'])]),
      /input 'b' is not computed by any earlier node/,
    ],
    [
      'a subgraph node reading its own output',
      model([yes, ifNode('c', 'y', graph([node('Relu', ['q'], ['q'])], ['q']), graph([node('Relu', ['x'], ['r'])], ['r']))]),
      /in its then_branch, node 'q' \(Relu\): input 'q' is not computed by any earlier node/,
    ],
    [
      'a subgraph reading an outer value computed after it',
      model(
        [
          yes,
          ifNode('c', 'y', graph([node('Relu', ['z'], ['q'])], ['q']), graph([node('Relu', ['x'], ['r'])], ['r'])),
          node('Relu', ['y'], ['z']),
        ],
        { output: 'z' },
      ),
      /in its then_branch, node 'q' \(Relu\): input 'z' is not computed by any earlier node/,
    ],
    [
      'graphs nested 100000 deep in attributes',
      deeplyNested(100_000),
      /not an ONNX model, or truncated \(protobuf decoding failed: maximum nesting depth exceeded\)/,
    ],
    [
      'dims of 2^31 x 2^31 over 8 bytes',
      mul({ dims: [2 ** 31, 2 ** 31], dataType: 1, rawData: Buffer.alloc(8) }),
      /tensor 'w' has \d+ elements, more than one tensor can hold/,
    ],
    [
      'an int64 dim of 2^63-1',
      mul({ dims: ['9223372036854775807'], dataType: 1, rawData: Buffer.alloc(8) }),
      /tensor 'w' has \d+ elements, more than one tensor can hold/,
    ],
    [
      'float data shorter than the dims',
      mul({ dims: [2], dataType: 1, floatData: [1] }),
      /tensor 'w' holds 1 values, its shape \[2\] needs 2/,
    ],
    [
      'raw bytes of another dtype than declared',
      mul({ dims: [2], dataType: 7, rawData: Buffer.alloc(8) }),
      /tensor 'w' holds 8 bytes of data, its shape \[2\] of INT64 needs 16/,
    ],
    [
      'an unknown data type',
      mul({ dims: [2], dataType: 999, rawData: Buffer.alloc(8) }),
      /tensor 'w' has data type type 999, which gradlens does not read/,
    ],
    [
      'a zero-size weight against a [1, 2] input',
      mul({ dims: [0], dataType: 1 }),
      /shapes \[1, 2\] and \[0\] cannot be broadcast together/,
    ],
    [
      'an op type with newlines (a damaged name)',
      model([node(`Fro${newline}b`, ['x'], ['y'])]),
      /1 unsupported op at opset 17: Froa\\nb\\r\\u2028cb at "y"/,
    ],
    [
      'a node name of a million characters',
      model([node('Frob', ['x'], ['y'], [], 'n'.repeat(1e6))]),
      /unsupported op.*… \(message cut, \d+ characters\)$/,
    ],
    [
      'a Loop whose trip count is 2^63-1 and whose condition stays true',
      model([
        constant('M', { dims: [], dataType: 7, int64Data: ['9223372036854775807'] }),
        node(
          'Loop',
          ['M', '', 'x'],
          ['y'],
          [
            {
              name: 'body',
              type: 5,
              g: {
                name: 'b',
                node: [node('Identity', ['cin'], ['cout']), node('Relu', ['v'], ['v2'])],
                input: [{ name: 'i' }, { name: 'cin' }, { name: 'v' }],
                output: [{ name: 'cout' }, { name: 'v2' }],
              },
            },
          ],
        ),
      ]),
      /Loop ran 65536 iterations without stopping/,
      20_000, // 65536 iterations take about 0.7 s alone; more beside other jobs
    ],
    [
      'a Range with a zero step',
      model([
        constant('a', { dims: [], dataType: 1, floatData: [0] }),
        constant('b', { dims: [], dataType: 1, floatData: [10] }),
        constant('d', { dims: [], dataType: 1, floatData: [0] }),
        node('Range', ['a', 'b', 'd'], ['r']),
        node('Add', ['x', 'r'], ['y']),
      ]),
      /node 'r' \(Range\)/,
    ],
    // regressions: an omitted shape input read as null deep inside the op
    [
      'a Reshape without its shape input',
      model([node('Reshape', ['x'], ['y'])]),
      /node 'y' \(Reshape\).*Reshape shape is required, but the input is omitted/,
    ],
    [
      'an Expand without its shape input',
      model([node('Expand', ['x'], ['y'])]),
      /node 'y' \(Expand\).*Expand shape is required, but the input is omitted/,
    ],
    ['a Tile without its repeats', model([node('Tile', ['x'], ['y'])]), /node 'y' \(Tile\).*Tile repeats is required/],
    ['a Slice without its starts and ends', model([node('Slice', ['x'], ['y'])]), /node 'y' \(Slice\).*starts is required/],
    ['a Pad without its pads', model([node('Pad', ['x'], ['y'])]), /node 'y' \(Pad\).*pads is required/],
    [
      'a Slice at opset 9 without its starts attribute',
      encode({
        ...ModelProto.toObject(ModelProto.decode(model([node('Slice', ['x'], ['y'])]))),
        opsetImport: [{ domain: '', version: 9 }],
      }),
      /node 'y' \(Slice\).*the attribute 'starts' is required, but the node does not give it/,
    ],
    [
      'a sparse initializer (not read)',
      encode({
        ...ModelProto.toObject(ModelProto.decode(model([node('Mul', ['x', 'w'], ['y'])], { initializer: [] }))),
        graph: {
          ...ModelProto.toObject(ModelProto.decode(model([node('Mul', ['x', 'w'], ['y'])], { initializer: [] }))).graph,
          sparseInitializer: [
            {
              values: { name: 'w', dims: [1], dataType: 1, floatData: [3] },
              indices: { dims: [1], dataType: 7, int64Data: [1] },
              dims: [2],
            },
          ],
        },
      }),
      /the graph has 1 sparse initializer \('w'\), which gradlens does not read: store them dense/,
    ],
    [
      'an Expand to 10^9 x 10^9',
      model([constant('s', { dims: [2], dataType: 7, int64Data: [1e9, 1e9] }), node('Expand', ['x', 's'], ['y'])]),
      /node 'y' \(Expand\).*cannot expand \[1, 2\] to \[1000000000, 1000000000\]/,
    ],
  ];
  // a rest parameter: a test function with more parameters than a row has values would be given jest's `done`
  it.each(cases)('%s', (...[what, bytes, message, ms]) => {
    expect(outcome(bytes, what, ms)).toMatch(message);
  });

  it('subgraphs nested 20 deep (legal; protobufjs refuses messages nested past 100) load and compute', () => {
    let inner = graph([node('Relu', ['x'], ['r0'])], ['r0']);
    for (let d = 0; d < 20; d++) {
      const c = constant(`c${d}`, { dims: [], dataType: 9, int32Data: [1] });
      const other = graph([node('Neg', ['x'], [`e${d}`])], [`e${d}`]);
      inner = graph([c, ifNode(`c${d}`, `r${d + 1}`, inner, other)], [`r${d + 1}`]);
    }
    const bytes = model([...inner.node.slice(0, -1), { ...inner.node.at(-1)!, output: ['y'] }]);
    expect(outcome(bytes, 'nested Ifs')).toBe('ok');
    tidy(() => {
      const y = loadOnnx(bytes).call(new Tensor(Float32Array.of(-1, 2), [1, 2], 'float32'));
      expect(Array.from(y.values())).toEqual([0, 2]);
    });
  });
});

describe('declared sizes are checked against the data before allocating', () => {
  it('an initializer declaring 2·10⁸ elements over one value fails in a child that never allocates it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradlens-onnx-mem-'));
    try {
      const cases = [
        { dims: [2e8], dataType: 1, floatData: [1] },
        { dims: [2e8], dataType: 7, int64Data: [1] },
        { dims: [2e8], dataType: 11, doubleData: [1] },
        { dims: [2e8], dataType: 10, int32Data: [1] },
      ];
      const dist = path.join(__dirname, '..', 'dist');
      for (const [k, w] of cases.entries()) {
        const file = path.join(dir, `m${k}.onnx`);
        fs.writeFileSync(file, mul(w));
        // the child records the largest typed array or ArrayBuffer asked for (RSS alone would miss calloc's untouched pages)
        const script = [
          `let largest = 0;`,
          `for (const T of ['ArrayBuffer', 'Float32Array', 'Float64Array', 'Int32Array', 'BigInt64Array', 'Uint8Array', 'Uint16Array', 'Int8Array', 'Int16Array']) {`,
          `  const Base = globalThis[T];`,
          `  globalThis[T] = class extends Base { constructor(...a) { if (typeof a[0] === 'number') largest = Math.max(largest, a[0] * (Base.BYTES_PER_ELEMENT ?? 1)); super(...a); } };`,
          `}`,
          `let message = 'loaded';`,
          `try { require(${JSON.stringify(dist)}).loadOnnx(${JSON.stringify(file)}) } catch (e) { message = e.message }`,
          `const peak = Number(/VmHWM:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;`,
          `process.stdout.write(JSON.stringify({ message, peak, largest }));`,
        ].join('\n');
        const r = spawnSync(process.execPath, ['--max-old-space-size=256', '-e', script], { encoding: 'utf8', timeout: 30_000 });
        const { message, peak, largest } = JSON.parse(r.stdout) as { message: string; peak: number; largest: number };
        expect(message).toMatch(/tensor 'w' holds 1 values, its shape \[200000000\] needs 200000000$/);
        expect(peak).toBeLessThan(200); // the declared data would be 800 MiB to 1.6 GiB
        expect(largest).toBeGreaterThan(0); // the recording works
        expect(largest).toBeLessThan(16 * 1024 * 1024);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('odd but valid weights load with their values', () => {
  it('NaN and ±Inf initializers are kept, not refused', () => {
    tidy(() => {
      const m = loadOnnx(mul({ dims: [2], dataType: 1, floatData: [NaN, -Infinity] }));
      expect(Array.from(m.call(new Tensor(Float32Array.of(1, 2), [1, 2], 'float32')).values())).toEqual([NaN, -Infinity]);
    });
  });
  it('a zero-size initializer that broadcasts away loads', () => {
    const bytes = model([node('Concat', ['x', 'e'], ['y'], [{ name: 'axis', type: 2, i: 1 }])], {
      initializer: [{ name: 'e', dims: [1, 0], dataType: 1 }],
    });
    tidy(() => {
      const y = loadOnnx(bytes).call(new Tensor(Float32Array.of(4, 5), [1, 2], 'float32'));
      expect([y.shape, Array.from(y.values())]).toEqual([
        [1, 2],
        [4, 5],
      ]);
    });
  });
  it('float16 raw data of an odd length is refused; of the right length it loads', () => {
    expect(outcome(mul({ dims: [2], dataType: 10, rawData: Buffer.alloc(3) }), 'fp16')).toMatch(
      /holds 3 bytes of data, its shape \[2\] of FLOAT16 needs 4/,
    );
    const half = Buffer.from([0x00, 0x40, 0x00, 0xc2]); // 2, -3
    tidy(() => {
      const m = loadOnnx(
        model([node('Cast', ['w'], ['wf'], [{ name: 'to', type: 2, i: 1 }]), node('Mul', ['x', 'wf'], ['y'])], {
          initializer: [{ name: 'w', dims: [2], dataType: 10, rawData: half }],
        }),
      );
      expect(Array.from(m.call(new Tensor(Float32Array.of(1, 1), [1, 2], 'float32')).values())).toEqual([2, -3]);
    });
  });
});

describe('hostile external data', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradlens-onnx-fuzz-'));
    const bin = Buffer.alloc(16);
    bin.writeFloatLE(5, 8);
    bin.writeFloatLE(7, 12);
    fs.writeFileSync(path.join(dir, 'w.bin'), bin);
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.writeFileSync(path.join(os.tmpdir(), `gradlens-outside-${process.pid}.bin`), bin);
    fs.symlinkSync(path.join(os.tmpdir(), `gradlens-outside-${process.pid}.bin`), path.join(dir, 'link.bin'));
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(path.join(os.tmpdir(), `gradlens-outside-${process.pid}.bin`), { force: true });
  });

  /** Writes a model whose w lives in external data with these entries; returns its path. */
  function external(name: string, entries: Record<string, string>): string {
    const file = path.join(dir, `${name}.onnx`);
    const externalData = Object.entries(entries).map(([key, value]) => ({ key, value }));
    fs.writeFileSync(file, mul({ dims: [2], dataType: 1, dataLocation: 1, externalData }));
    return file;
  }

  it('loads a well-placed tensor', () => {
    tidy(() => {
      const m = loadOnnx(external('good', { location: 'w.bin', offset: '8', length: '8' }));
      expect(Array.from(m.call(new Tensor(Float32Array.of(1, 2), [1, 2], 'float32')).values())).toEqual([5, 14]);
    });
  });

  const cases: [string, Record<string, string>, RegExp][] = [
    ['a location up and out', { location: '../w.bin' }, /external data location '\.\.\/w\.bin' is outside the model's folder/],
    ['a location through a folder and up twice', { location: 'sub/../../w.bin' }, /is outside the model's folder/],
    ['an absolute location', { location: '/etc/passwd' }, /external data location '\/etc\/passwd' is outside the model's folder/],
    ['a link inside pointing outside', { location: 'link.bin' }, /links outside the model's folder; refused/],
    ['the folder of the model itself', { location: '.' }, /is not a regular file/],
    ['a folder', { location: 'sub' }, /is not a regular file/],
    ['a missing file', { location: 'gone.bin' }, /external data file .*gone\.bin is missing/],
    ['a negative offset', { location: 'w.bin', offset: '-4' }, /offset '-4' or length 'undefined' is not a non-negative integer/],
    ['an offset past 2^53', { location: 'w.bin', offset: '9007199254740993' }, /is not a non-negative integer/],
    ['an offset that is not a number', { location: 'w.bin', offset: 'eight' }, /offset 'eight'.*is not a non-negative integer/],
    ['an offset past the end', { location: 'w.bin', offset: '12' }, /holds 16 bytes, the tensor needs bytes 12\.\.20/],
    [
      'a length of 4 GiB',
      { location: 'w.bin', length: '4294967296' },
      /external data length 4294967296 does not match its shape and type \(8 bytes\)/,
    ],
    ['a location with a NUL byte', { location: 'w.bin\u0000x' }, /tensor 'w'/],
  ];
  it.each(cases)('%s', (what, entries, message) => {
    expect(outcome(external(what.replace(/\W+/g, '_'), entries), what)).toMatch(message);
  });

  it('a FIFO named as external data is refused at once, not waited on (in a child process, so a hang cannot stall the suite)', () => {
    const file = external('fifo', { location: 'pipe.bin' });
    const fifo = spawnSync('mkfifo', [path.join(dir, 'pipe.bin')]);
    if (fifo.status !== 0) return; // no mkfifo (not Linux): nothing to test
    const dist = path.join(__dirname, '..', 'dist');
    const script = `try { require(${JSON.stringify(dist)}).loadOnnx(${JSON.stringify(file)}) } catch (e) { process.stdout.write(e.message) }`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.signal).toBeNull(); // not killed by the timeout
    expect(r.stdout).toMatch(/^loadOnnx .*fifo\.onnx: tensor 'w': external data .*pipe\.bin is not a regular file$/);
  });
});
