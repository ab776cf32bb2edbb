import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as protobuf from 'protobufjs';
import { Tensor, tidy } from '@gradlens/tensor';
import { loadOnnx } from '@gradlens/onnx';

const root = protobuf.loadSync(path.join(__dirname, '..', 'onnx.proto'));
const ModelProto = root.lookupType('onnx.ModelProto');

/** A one-input model [1, 2] → Mul by a [2] initializer → nodes…; `nodes` may add ops after 'y'. */
function model(
  options: { opset?: number; dims?: ({ dimValue: number } | { dimParam: string })[]; nodes?: object[]; initializer?: object } = {},
): Uint8Array {
  const msg = ModelProto.fromObject({
    irVersion: 8,
    opsetImport: [{ domain: '', version: options.opset ?? 17 }],
    graph: {
      name: 'g',
      node: [{ name: '/scale/Mul', opType: 'Mul', input: ['x', 'w'], output: ['y'] }, ...(options.nodes ?? [])],
      initializer: [options.initializer ?? { name: 'w', dims: [2], dataType: 1, floatData: [2, 3] }],
      input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: options.dims ?? [{ dimValue: 1 }, { dimValue: 2 }] } } } }],
      output: [{ name: options.nodes?.length ? 'z' : 'y', type: { tensorType: { elemType: 1 } } }],
    },
  });
  return ModelProto.encode(msg).finish();
}

/** The default model() with its graph changed by `edit` (on the decoded message's plain object). */
function withGraph(edit: (graph: { input: object[]; initializer: object[] }) => void): Uint8Array {
  const msg = ModelProto.toObject(ModelProto.decode(model())) as { graph: { input: object[]; initializer: object[] } };
  edit(msg.graph);
  return ModelProto.encode(ModelProto.fromObject(msg)).finish();
}

/** The default model() whose Mul node calls `functions[0]` (domain and name) instead. */
function withFunctions(functions: { name: string; domain: string; input: string[]; output: string[]; node: object[] }[]): Uint8Array {
  const msg = ModelProto.toObject(ModelProto.decode(model())) as { graph: { node: { opType: string; domain?: string }[] } };
  msg.graph.node[0]!.opType = functions[0]!.name;
  msg.graph.node[0]!.domain = functions[0]!.domain;
  return ModelProto.encode(ModelProto.fromObject({ ...msg, functions })).finish();
}

/** A Constant node giving `name` the float32 values `v` (1-D). */
const floats = (name: string, v: number[]) => ({
  name: `/${name}`,
  opType: 'Constant',
  output: [name],
  attribute: [{ name: 'value', type: 4, t: { dims: [v.length], dataType: 1, floatData: v } }],
});

/** A Constant node giving `name` the int64 values `v` (1-D). */
const int64s = (name: string, v: number[]) => ({
  name: `/${name}`,
  opType: 'Constant',
  output: [name],
  attribute: [{ name: 'value', type: 4, t: { dims: [v.length], dataType: 7, int64Data: v } }],
});

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'gradlens-onnx-'));
}

describe('loadOnnx on bad input: one clear line each, nothing half-loaded', () => {
  it('loads the good model it builds on', () => {
    tidy(() => {
      const m = loadOnnx(model());
      expect(Array.from(m.call(new Tensor(Float32Array.of(1, 1), [1, 2], 'float32')).values())).toEqual([2, 3]);
      expect(m.getModule('scale')).toBeDefined();
    });
  });

  it('lists every unsupported op at once, with node names and the opset', () => {
    const bytes = model({
      nodes: [
        { name: '/a/Foo', opType: 'Foo', input: ['y'], output: ['u'] },
        { name: '/b/Bar', opType: 'Bar', input: ['u'], output: ['v'] },
        { name: '/c/Det', opType: 'Det', domain: 'com.microsoft', input: ['v'], output: ['z'] },
      ],
    });
    expect(() => loadOnnx(bytes)).toThrow(
      /^loadOnnx ONNX bytes: 3 unsupported ops at opset 17: Foo at "\/a\/Foo", Bar at "\/b\/Bar", com\.microsoft\.Det at "\/c\/Det" \(com\.microsoft ops are onnxruntime’s: .*\)$/,
    );
  });

  it('names the dynamic dims it cannot resolve, and resolves them from inputShape', () => {
    const bytes = model({ dims: [{ dimParam: 'batch' }, { dimParam: 'features' }] });
    expect(() => loadOnnx(bytes)).toThrow(
      /input 'x' \[batch, features\] has dynamic dims \(features\) that cannot be resolved; pass inputShape/,
    );
    expect(loadOnnx(bytes, { inputShape: [3, 2] }).inputShape).toEqual([3, 2]);
    expect(() => loadOnnx(bytes, { inputShape: [3, 5] })).toThrow(/ONNX node '\/scale\/Mul' \(Mul\) at input \[3, 5\]/);
  });

  it('refuses a truncated model and a file that is not ONNX', () => {
    const dir = tmpDir();
    const good = fs.readFileSync(path.join(__dirname, 'fixtures', 'densenet121.onnx'));
    const cut = path.join(dir, 'cut.onnx');
    fs.writeFileSync(cut, good.subarray(0, Math.floor(good.length / 2)));
    expect(() => loadOnnx(cut)).toThrow(
      new RegExp(`^loadOnnx ${cut.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not an ONNX model, or truncated`),
    );
    const text = path.join(dir, 'notes.onnx');
    fs.writeFileSync(text, 'this is not a model\n');
    expect(() => loadOnnx(text)).toThrow(/not an ONNX model/);
    expect(() => loadOnnx(path.join(dir, 'absent.onnx'))).toThrow(/absent\.onnx.*(no such file|ENOENT)/i);
    expect(() => loadOnnx(dir)).toThrow(/not a regular file/);
  });

  // Graphs and tensors no exporter writes, each refused at load in one line naming the problem.
  const node = (name: string, opType: string, input: string[], output: string[], domain?: string) => ({
    name,
    opType,
    input,
    output,
    domain,
  });
  const w = (fields: object) => ({ initializer: { name: 'w', dataType: 1, ...fields } });
  const image = [1, 1, 4, 2].map((d) => ({ dimValue: d }));
  const kernel = {
    name: '/k',
    opType: 'Constant',
    output: ['k'],
    attribute: [{ name: 'value', type: 4, t: { dims: [1, 1, 3, 3], dataType: 1, floatData: Array<number>(9).fill(1) } }],
  };
  const conv = (opType: string, attribute: object) => ({ name: 'c', opType, input: ['y', 'k'], output: ['z'], attribute: [attribute] });
  const HOSTILE: [string, Uint8Array, RegExp][] = [
    [
      'a node reading a value no node makes',
      model({ nodes: [node('a', 'Add', ['y', 'ghost'], ['z'])] }),
      /node 'a' \(Add\).*input 'ghost' is not computed by any earlier node/,
    ],
    [
      'a cycle',
      model({ nodes: [node('a', 'Add', ['y', 'b'], ['a']), node('b', 'Relu', ['a'], ['b']), node('c', 'Neg', ['b'], ['z'])] }),
      /node 'a' \(Add\).*input 'b' is not computed by any earlier node/,
    ],
    [
      'two nodes writing one value',
      model({ nodes: [node('a', 'Relu', ['y'], ['z']), node('b', 'Neg', ['y'], ['z'])] }),
      /node 'b' \(Neg\) writes the value 'z', already given by node 'a' \(Relu\); each value has one producer/,
    ],
    [
      'a node overwriting the graph input',
      model({ nodes: [node('a', 'Relu', ['y'], ['x']), node('b', 'Neg', ['x'], ['z'])] }),
      /node 'a' \(Relu\) writes the value 'x', already given by the graph input 'x'/,
    ],
    [
      'two initializers of one name',
      withGraph((g) => g.initializer.push({ name: 'w', dims: [2], dataType: 1, floatData: [4, 5] })),
      /the graph has two initializers named 'w'/,
    ],
    ['two inputs of one name', withGraph((g) => g.input.push({ ...g.input[0] })), /the graph has two inputs named 'x'/],
    [
      'model-local functions that each call the next twice, 30 deep (2³⁰ nodes)',
      withFunctions(
        Array.from({ length: 31 }, (_, k) => ({
          name: `F${k}`,
          domain: 'my',
          input: ['a'],
          output: ['b'],
          node:
            k === 30
              ? [{ opType: 'Relu', input: ['a'], output: ['b'] }]
              : [
                  { opType: `F${k + 1}`, domain: 'my', input: ['a'], output: ['c'] },
                  { opType: `F${k + 1}`, domain: 'my', input: ['c'], output: ['b'] },
                ],
        })),
      ),
      /inlining the model-local functions makes 1073741824 nodes, more than 1000000/,
    ],
    [
      'a model-local function that calls itself',
      withFunctions([
        { name: 'Loop', domain: 'my', input: ['a'], output: ['b'], node: [{ opType: 'Loop', domain: 'my', input: ['a'], output: ['b'] }] },
      ]),
      /model-local function 'Loop' nests more than 64 calls deep \(does it call itself\?\)/,
    ],
    [
      'raw_data shorter than its dims',
      model(w({ dims: [2], rawData: Buffer.alloc(4) })),
      /tensor 'w' holds 4 bytes of data, its shape \[2\] of FLOAT needs 8/,
    ],
    ['raw_data longer than its dims', model(w({ dims: [2], rawData: Buffer.alloc(12) })), /tensor 'w' holds 12 bytes of data/],
    ['a negative dim', model(w({ dims: [-2], floatData: [1, 2] })), /tensor 'w' has invalid dims \[-2\]/],
    [
      'enormous dims',
      model(w({ dims: [1e12, 1e12], rawData: Buffer.alloc(8) })),
      /tensor 'w' has 1e\+24 elements, more than one tensor can hold/,
    ],
    [
      'an enormous input',
      model({ dims: [{ dimValue: 1 }, { dimValue: 4e9 }] }),
      /the model's input 'x' would be \[1, 4000000000\] \(4000000000 elements\), past the 1073741824 one tensor may hold/,
    ],
    [
      'a Reshape to two -1s',
      model({ nodes: [int64s('s', [-1, -1]), node('r', 'Reshape', ['y', 's'], ['z'])] }),
      /node 'r' \(Reshape\).*shape \[-1, -1\] has more than one -1/,
    ],
    [
      'a Reshape to a shape of another size',
      model({ nodes: [int64s('s', [3, -1]), node('r', 'Reshape', ['y', 's'], ['z'])] }),
      /node 'r' \(Reshape\).*cannot reshape \[1, 2\] \(2 elements\) to \[3, -1\]/,
    ],
    [
      'ConstantOfShape of a negative dim',
      model({ nodes: [int64s('s', [-3, 2]), node('c', 'ConstantOfShape', ['s'], ['z'])] }),
      /node 'c' \(ConstantOfShape\).*ConstantOfShape of \[-3, 2\] has a negative dim/,
    ],
    [
      'Conv pads that would make a padded copy past the size limit',
      model({ dims: image, nodes: [kernel, conv('Conv', { name: 'pads', type: 7, ints: [1e5, 1e5, 1e5, 1e5] })] }),
      /node 'c' \(Conv\).*Conv's padded input would be \[1, 1, 200004, 200002\]/,
    ],
    [
      'ConvTranspose strides of 0',
      model({ dims: image, nodes: [kernel, conv('ConvTranspose', { name: 'strides', type: 7, ints: [0, 0] })] }),
      /node 'c' \(ConvTranspose\).*strides \[0, 0\] must be integers of at least 1/,
    ],
    [
      'an op of an unknown domain',
      model({ nodes: [node('frob', 'Frobnicate', ['y'], ['z'], 'org.acme')] }),
      /1 unsupported op at opset 17: org\.acme\.Frobnicate at "frob"/,
    ],
    [
      'a com.microsoft op the importer lacks',
      model({ nodes: [node('attn', 'Attention', ['y'], ['z'], 'com.microsoft')] }),
      /1 unsupported op at opset 17: com\.microsoft\.Attention at "attn" \(com\.microsoft ops are onnxruntime’s: save the model from a session at graph_optimization_level ORT_ENABLE_BASIC or lower/,
    ],
  ];

  it.each(HOSTILE)('refuses %s in one line', (_what, bytes, message) => {
    let error = '';
    try {
      loadOnnx(bytes);
    } catch (e) {
      error = (e as Error).message;
    }
    expect(error).toMatch(/^loadOnnx ONNX bytes: /);
    expect(error).toMatch(message);
    expect(error.split('\n')).toHaveLength(1);
  });

  it('refuses an opset outside the supported range', () => {
    expect(() => loadOnnx(model({ opset: 3 }))).toThrow(/opset 3 is outside the supported range 7–21/);
    expect(() => loadOnnx(model({ opset: 40 }))).toThrow(/opset 40 is outside the supported range/);
  });

  it('refuses a bad Resize in one line naming the node and the problem', () => {
    const resize = (inputs: string[], attribute: object[] = []) =>
      model({
        opset: 19,
        nodes: [
          floats('scales', [1, 2]),
          floats('short', [2]),
          floats('negative', [1, -2]),
          int64s('sizes', [1, 4]),
          { name: '/up/Resize', opType: 'Resize', input: ['y', ...inputs], output: ['z'], attribute },
        ],
      });
    const mode = (v: string) => [{ name: 'mode', type: 3, s: Buffer.from(v) }];
    const cases: [Uint8Array, RegExp][] = [
      [resize(['', 'scales', 'sizes']), /Resize has both scales and sizes; give only one/],
      [resize(['', '', '']), /Resize has neither scales nor sizes/],
      [resize(['', 'short']), /Resize scales has 1 values, not the input's rank 2/],
      [resize(['', 'negative']), /Resize scale -2 is not a positive number/],
      [resize(['', 'scales'], mode('area')), /mode 'area' is not one of nearest, linear, cubic/],
      [resize(['', '', 'sizes'], [{ name: 'axes', type: 7, ints: [1] }]), /Resize sizes has 2 values, not the 1 axes/],
    ];
    for (const [bytes, message] of cases) {
      expect(() => loadOnnx(bytes)).toThrow(/ONNX node '\/up\/Resize' \(Resize\)/);
      expect(() => loadOnnx(bytes)).toThrow(message);
    }
  });

  it('refuses an op that would make a tensor past the size limit, before allocating it', () => {
    const grow = (node: object, constants: object[]) => model({ opset: 19, nodes: [...constants, node] });
    const cases: [Uint8Array, RegExp][] = [
      [
        grow({ name: '/t/Tile', opType: 'Tile', input: ['y', 'r'], output: ['z'] }, [int64s('r', [40000, 20000])]),
        /Tile would be \[40000, 40000\]/,
      ],
      [
        grow({ name: '/t/Expand', opType: 'Expand', input: ['y', 's'], output: ['z'] }, [int64s('s', [2000000, 1000, 2])]),
        /Expand would be/,
      ],
      [
        grow({ name: '/t/Resize', opType: 'Resize', input: ['y', '', 'sc'], output: ['z'] }, [floats('sc', [60000, 20000])]),
        /the resized output would be/,
      ],
      [grow({ name: '/t/Pad', opType: 'Pad', input: ['y', 'p'], output: ['z'] }, [int64s('p', [0, 0, 100000, 20000])]), /Pad would be/],
    ];
    for (const [bytes, message] of cases) {
      expect(() => loadOnnx(bytes)).toThrow(message);
      expect(() => loadOnnx(bytes)).toThrow(/elements\), past the 1073741824 one tensor may hold$/);
    }
  });

  it('reads external data next to the model, and refuses missing files and paths outside its folder', () => {
    const dir = tmpDir();
    const external = (location: string, offset = 0) =>
      model({
        initializer: {
          name: 'w',
          dims: [2],
          dataType: 1,
          dataLocation: 1,
          externalData: [
            { key: 'location', value: location },
            { key: 'offset', value: String(offset) },
            { key: 'length', value: '8' },
          ],
        },
      });
    const bin = Buffer.alloc(12);
    bin.writeFloatLE(5, 4);
    bin.writeFloatLE(7, 8);
    fs.writeFileSync(path.join(dir, 'weights.bin'), bin);
    fs.writeFileSync(path.join(dir, 'm.onnx'), external('weights.bin', 4));
    tidy(() => {
      const m = loadOnnx(path.join(dir, 'm.onnx'));
      expect(Array.from(m.call(new Tensor(Float32Array.of(1, 2), [1, 2], 'float32')).values())).toEqual([5, 14]);
    });
    fs.writeFileSync(path.join(dir, 'missing.onnx'), external('gone.bin'));
    expect(() => loadOnnx(path.join(dir, 'missing.onnx'))).toThrow(/tensor 'w': external data file .*gone\.bin is missing/);
    fs.writeFileSync(path.join(dir, 'escape.onnx'), external('../weights.bin'));
    expect(() => loadOnnx(path.join(dir, 'escape.onnx'))).toThrow(
      /external data location '\.\.\/weights\.bin' is outside the model's folder/,
    );
    fs.writeFileSync(path.join(dir, 'short.onnx'), external('weights.bin', 8));
    expect(() => loadOnnx(path.join(dir, 'short.onnx'))).toThrow(/holds 12 bytes, the tensor needs bytes 8\.\.16/);
    expect(() => loadOnnx(external('weights.bin'))).toThrow(/load the model from its file path/);
  });

  it('keeps float32 initializers as views of the file bytes when aligned, and copies them when not', () => {
    const encoded = model({ initializer: { name: 'w', dims: [2], dataType: 1, rawData: Buffer.from(Float32Array.of(2, 3).buffer) } });
    const shared: boolean[] = [];
    for (let shift = 0; shift < 4; shift++) {
      const backing = new ArrayBuffer(encoded.length + 4);
      const bytes = new Uint8Array(backing, shift, encoded.length);
      bytes.set(encoded);
      const m = loadOnnx(Buffer.from(backing, shift, encoded.length));
      const data = m
        .namedParameters()
        .find(([n]) => n === 'w')![1]
        .values() as Float32Array;
      expect(Array.from(data)).toEqual([2, 3]);
      shared.push(data.buffer === backing);
    }
    // Exactly one of the four byte offsets puts raw_data on a 4-byte boundary.
    expect(shared.filter(Boolean)).toHaveLength(1);
  });
});

describe('weights read from a file are views of its bytes, misaligned ones moved into alignment in place', () => {
  it('gives every float32 initializer (and a Constant read on each run) the right values without a copy', () => {
    const dir = tmpDir();
    const w = Float32Array.from({ length: 64 }, (_, k) => k / 8 - 3);
    const c = Float32Array.from({ length: 64 }, (_, k) => 100 + k);
    const raw = (a: Float32Array) => Buffer.from(a.buffer.slice(0));
    const offsets = new Set<number>();
    try {
      // four graph-name lengths put the raw_data at four different byte offsets mod 4
      for (let pad = 0; pad < 4; pad++) {
        const name = 'w';
        const bytes = ModelProto.encode(
          ModelProto.fromObject({
            irVersion: 8,
            opsetImport: [{ domain: '', version: 13 }],
            graph: {
              name: `g${'_'.repeat(pad)}`,
              node: [
                {
                  name: '/c/Constant',
                  opType: 'Constant',
                  output: ['c'],
                  attribute: [{ name: 'value', type: 4, t: { dims: [64], dataType: 1, rawData: raw(c) } }],
                },
                { name: '/scale/Mul', opType: 'Mul', input: ['x', name], output: ['y'] },
                { name: '/shift/Add', opType: 'Add', input: ['y', 'c'], output: ['z'] },
              ],
              initializer: [
                { name, dims: [64], dataType: 1, rawData: raw(w) },
                { name: 'v', dims: [64], dataType: 1, rawData: raw(c) },
              ],
              input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 64 }] } } } }],
              output: [{ name: 'z', type: { tensorType: { elemType: 1 } } }],
            },
          }),
        ).finish();
        offsets.add(Buffer.from(bytes).indexOf(raw(w)) % 4);
        const file = path.join(dir, `m${pad}.onnx`);
        fs.writeFileSync(file, bytes);
        const m = loadOnnx(file);
        const params = new Map(m.namedParameters().map(([n, p]) => [n, p.values() as Float32Array]));
        expect(Array.from(params.get(name)!)).toEqual(Array.from(w));
        expect(Array.from(params.get('v')!)).toEqual(Array.from(c));
        // both views of the one buffer the file was read into (a copy would own a 256-byte buffer)
        expect(params.get(name)!.buffer).toBe(params.get('v')!.buffer);
        expect(params.get(name)!.buffer.byteLength).toBeGreaterThanOrEqual(bytes.length);
        for (let run = 0; run < 2; run++) {
          tidy(() => {
            const z = m.call(new Tensor(new Float32Array(64).fill(2), [1, 64], 'float32')).values();
            expect(Array.from(z)).toEqual(Array.from(w, (v, k) => 2 * v + c[k]!));
          });
        }
      }
      expect(offsets.size).toBe(4);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
