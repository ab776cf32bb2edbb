import * as fs from 'fs';
import type { NdArray } from '../../src/array';
import {
  type TorchDict,
  decodeTorchFile,
  encodeZip,
  fromNumbers,
  isNdArray,
  readPth,
  readTorchFile,
  readTorchPickle,
  toFloat32,
} from '../../src/formats';
import { type Expected, expectByteFlipsAreSafe, expectEveryTruncationThrows, expectMatches, expectedJson, fixture } from './helpers';
import { PickleBuilder } from './pickle-builder';

describe('readPth on a state dict torch.save wrote', () => {
  const expected = expectedJson<Record<string, Expected>>('state_dict.expected.json');
  const sd = readPth(fixture('state_dict.pth'));

  it('has every entry, in order, with exact values (fp32, fp16, bf16, int64, views of a shared storage, ...)', () => {
    expect(Object.keys(sd)).toEqual(Object.keys(expected));
    for (const [name, exp] of Object.entries(expected)) expectMatches(sd[name], exp, name);
  });

  it('materialises views row-major, independent of each other', () => {
    const a = sd['shared.a'] as NdArray<'float32'>;
    const c = sd['shared.c'] as NdArray<'float32'>; // a.t()
    expect(c.shape).toEqual([6, 4]);
    expect(c.data[1 * 4 + 2]).toBe(a.data[2 * 6 + 1]);
    const fresh = readPth(fixture('state_dict.pth'));
    (fresh['shared.c'] as NdArray<'float32'>).data[0] = 123;
    expect((fresh['shared.a'] as NdArray<'float32'>).data[0]).toBe(a.data[0]);
  });

  it('keeps num_batches_tracked as int64 and decodes fp16/bf16', () => {
    expect(sd['1.num_batches_tracked']).toEqual({ dtype: 'int64', shape: [], data: new BigInt64Array([1n]) });
    expect(Array.from(toFloat32(sd.half as NdArray))).toEqual(expected.half?.values);
    expect(Array.from(toFloat32(sd.bf16 as NdArray))).toEqual(expected.bf16?.values);
  });

  it('reads from bytes as well as from a path', () => {
    expect(readPth(fs.readFileSync(fixture('state_dict.pth')))).toEqual(sd);
  });
});

describe('checkpoints', () => {
  const expected = expectedJson<{ state_dict: Record<string, Expected>; 'nested.deep.t': Expected; param: Expected }>(
    'checkpoint.expected.json',
  );

  it('readTorchFile returns the whole tree with plain JS values', () => {
    const ckpt = readTorchFile(fixture('checkpoint.pth')) as TorchDict;
    expect(ckpt.epoch).toBe(3);
    expect(ckpt.lr).toBe(0.125);
    expect(ckpt.name).toBe('resnet-ish');
    expect(ckpt.best).toBeNull();
    expect(ckpt.flags).toEqual([true, false]);
    expect(ckpt.pair).toEqual([1, 2.5, 'x']);
    expect(ckpt.big).toBe(2 ** 40);
    expect(ckpt.huge).toBe(2n ** 70n);
    expect(ckpt.neg).toBe(-5);
    expect(ckpt.int_keys).toEqual({ 0: 'zero', 1: 'one' });
    const deep = ((ckpt.nested as TorchDict).deep as TorchDict).t;
    expect(isNdArray(deep)).toBe(true);
    expectMatches(deep as NdArray, expected['nested.deep.t'], 'nested.deep.t');
    expectMatches(ckpt.param as NdArray, expected.param, 'param (an nn.Parameter)');
  });

  it('readPth finds the state dict inside a checkpoint', () => {
    const sd = readPth(fixture('checkpoint.pth'));
    expect(Object.keys(sd)).toEqual(Object.keys(expected.state_dict));
    for (const [name, exp] of Object.entries(expected.state_dict)) expectMatches(sd[name], exp, name);
  });

  it('reads pickle protocol 4 (FRAME, MEMOIZE, STACK_GLOBAL)', () => {
    expect(readPth(fixture('protocol4.pth'))).toEqual(readPth(fixture('checkpoint.pth')));
  });

  it('a dict that merely looks like an NdArray is not taken for a tensor', () => {
    const p = new PickleBuilder()
      .emptyDict()
      .str('dtype')
      .str('float32')
      .setitem()
      .str('shape')
      .emptyList()
      .setitem()
      .str('data')
      .op(0x43, 1, 7)
      .setitem()
      .stop();
    const v = readTorchPickle(p);
    expect(v).toEqual({ dtype: 'float32', shape: [], data: new Uint8Array([7]) });
    expect(isNdArray(v)).toBe(false);
  });

  it('readPth explains what it found when there is no state dict', () => {
    const zip = torchZip(new PickleBuilder().emptyDict().str('epoch').int(3).setitem().stop());
    expect(() => readPth(zip)).toThrow(/<bytes>: is not a state dict: entry "epoch" is a number, not a tensor.*readTorchFile/);
  });
});

describe('a whole module pickled by torch.save(model) (scripts/make-io-format-fixtures.py)', () => {
  const expected = expectedJson<Record<string, Expected>>('whole_module.expected.json');

  it.each(['whole_module.pth', 'whole_module_checkpoint.pth'])(
    '%s: readPth gives model.state_dict(): every parameter and persistent buffer, in order, none of the classes run',
    (name) => {
      const sd = readPth(fixture(name));
      expect(Object.keys(sd)).toEqual(Object.keys(expected));
      expect(Object.keys(sd)).not.toContain('0.bias'); // a None parameter (bias=False)
      expect(Object.keys(sd)).not.toContain('2.0.scratch'); // a non-persistent buffer
      for (const [key, exp] of Object.entries(expected)) expectMatches(sd[key], exp, key);
    },
  );

  it('survives every truncation and byte flip (an Error or a state dict, never a crash of another kind)', () => {
    const bytes = new Uint8Array(fs.readFileSync(fixture('whole_module_checkpoint.pth')));
    expectEveryTruncationThrows(bytes, (b) => readPth(b), 7);
    expectByteFlipsAreSafe(bytes, (b) => readPth(b), 3);
  });

  it('refuses in one line a module among its own submodules (its state_dict() would never end)', () => {
    expect(() => readPth(fixture('module_cycle.pth'))).toThrow(/module_cycle\.pth: the pickled module contains itself at 'again'$/);
  });

  it('readTorchFile still refuses the classes, naming the first', () => {
    expect(() => readTorchFile(fixture('whole_module.pth'))).toThrow(
      /refusing to load global torch\.nn\.modules\.container\.Sequential: it is not on the allow-list/,
    );
  });
});

describe('a checkpoint holding objects of other classes (argparse.Namespace, numpy scalars)', () => {
  const file = fixture('checkpoint_objects.pth');
  it('readPth reads them as inert data and returns the state dict', () => {
    expect(readPth(file)).toEqual(readPth(fixture('checkpoint.pth')));
  });
  it('readTorchFile still refuses them, naming the class', () => {
    expect(() => readTorchFile(file)).toThrow(
      /refusing to load global argparse\.Namespace: it is not on the allow-list.*Nothing in the file was executed/,
    );
  });
  it('with opaqueGlobals they are { __class__, __args__, __state__ }, nothing called', () => {
    const v = decodeTorchFile(fs.readFileSync(file), 'c.pth', undefined, { opaqueGlobals: true }) as TorchDict;
    expect(v.args).toEqual({ __class__: 'argparse.Namespace', __args__: [], __state__: { lr: 0.1, arch: 'resnet18' } });
    expect((v.best_acc1 as TorchDict).__class__).toBe('numpy.core.multiarray.scalar');
    expect(v.epoch).toBe(3);
  });
  it('an opaque class cannot stand in for a tensor type or a storage', () => {
    const asType = new PickleBuilder()
      .global('torch._tensor', '_rebuild_from_type_v2')
      .global('torch._utils', '_rebuild_tensor_v2')
      .global('evil', 'Tensor')
      .emptyTuple()
      .op(0x87)
      .op(0x52)
      .stop();
    expect(() => readTorchPickle(asType, { opaqueGlobals: true })).toThrow(
      /_rebuild_from_type_v2 of a type other than Tensor or Parameter/,
    );
    expect(() =>
      readTorchPickle(new PickleBuilder().tensor((b) => b.storage('EvilStorage', '0', 1), 0, [1], [1]).stop(), {
        opaqueGlobals: true,
        loadStorage: () => new Uint8Array(4),
      }),
    ).toThrow(/persistent id names torch\.EvilStorage, not a known storage type/);
  });
});

describe('refusals', () => {
  it('refuses a disallowed global, naming it, in a bare pickle and in a .pth', () => {
    expect(() => readTorchPickle(fs.readFileSync(fixture('evil.pkl')), { file: 'evil.pkl' })).toThrow(
      /evil\.pkl: pickle byte \d+: refusing to load global os\.system: it is not on the allow-list.*Nothing in the file was executed/,
    );
    expect(() => readPth(fixture('evil.pth'))).toThrow(/evil\.pth:archive\/data\.pkl: .*refusing to load global os\.system/);
  });

  it('refuses STACK_GLOBAL names too', () => {
    const p = new PickleBuilder().str('builtins').str('eval').op(0x93).stop();
    expect(() => readTorchPickle(p)).toThrow(/refusing to load global builtins\.eval/);
  });

  it('explains other non-zip input and TorchScript archives', () => {
    expect(() => readPth(fixture('evil.pkl'))).toThrow(/bare pickle stream/);
    expect(() => readPth(fixture('f4.npy'))).toThrow(/not a PyTorch zip archive/);
    const ts = encodeZip([
      { name: 'm/data.pkl', data: new PickleBuilder().none().stop() },
      { name: 'm/constants.pkl', data: new Uint8Array(1) },
    ]);
    expect(() => decodeTorchFile(ts, 'm.pt')).toThrow(/m\.pt: this is a TorchScript archive/);
    // one that torch.jit.save wrote: readTorchFile says what it is and what to run instead; readPth reads its tensors
    const scripted = readPth(fixture('torchscript.pt'));
    expect(Object.fromEntries(Object.entries(scripted).map(([k, v]) => [k, [v.dtype, v.shape]]))).toEqual({
      weight: ['float32', [1, 2]],
      bias: ['float32', [1]],
    });
    expect(() => readTorchFile(fixture('torchscript.pt'))).toThrow(
      /^\S*torchscript\.pt: this is a TorchScript archive \(torch\.jit\.save\).*torch\.save\(torch\.jit\.load\(f\)\.state_dict\(\)/,
    );
  });

  it('explains a tar archive (torch < 0.4)', () => {
    const tar = new Uint8Array(1024);
    tar.set(new TextEncoder().encode('ustar'), 257);
    expect(() => decodeTorchFile(tar, 'old.pth')).toThrow(/^old\.pth: this is a tar archive, PyTorch's oldest \(pre-0\.4\) format/);
  });
});

describe('the legacy format (torch < 1.6, or _use_new_zipfile_serialization=False)', () => {
  it('reads the same state dict as the zip format: every dtype, views, shared storage, expand', () => {
    const expected = expectedJson<Record<string, Expected>>('state_dict.expected.json');
    const sd = readPth(fixture('state_dict_legacy.pth'));
    expect(Object.keys(sd)).toEqual(Object.keys(expected));
    for (const [name, exp] of Object.entries(expected)) expectMatches(sd[name], exp, name);
    (sd['shared.a'] as NdArray<'float32'>).data[0] = 123; // tensors on one storage are still independent
    expect((sd['shared.c'] as NdArray<'float32'>).data[0]).not.toBe(123);
  });

  it('reads a checkpoint saved with pickle protocol 4, and finds its state dict', () => {
    expect(readTorchFile(fixture('checkpoint_legacy.pth'))).toEqual(readTorchFile(fixture('checkpoint.pth')));
    expect(readPth(fixture('checkpoint_legacy.pth'))).toEqual(readPth(fixture('checkpoint.pth')));
  });

  it('every truncation throws, naming the file', () => {
    const bytes = fs.readFileSync(fixture('state_dict_legacy.pth'));
    expectEveryTruncationThrows(bytes, (b) => readPth(b, { name: 'old.pth' }), 7);
    expect(() => readPth(bytes.subarray(0, bytes.length - 1), { name: 'old.pth' })).toThrow(
      /^old\.pth: storage \S+ \(\d+ bytes at byte \d+\) runs past the end of the file/,
    );
  });

  it('refuses a storage whose element count disagrees with the pickle', () => {
    const bytes = new Uint8Array(fs.readFileSync(fixture('checkpoint_legacy.pth')));
    // the first storage's int64 count sits right after the key list's STOP; find it from the end instead:
    // the last storage is 'param' (2 float32s): count 2, then 8 bytes
    const at = bytes.length - 8 - 8;
    expect(new DataView(bytes.buffer, bytes.byteOffset + at, 8).getBigInt64(0, true)).toBe(2n);
    bytes[at] = 3;
    expect(() => readTorchFile(bytes, { name: 'c.pth' })).toThrow(/^c\.pth: storage \S+ holds 3 elements, the pickle says 2/);
  });
});

/** Wraps a pickle and storages into a torch.save-style zip under `prefix/`. */
function torchZip(
  pkl: Uint8Array,
  storages: Record<string, Uint8Array> = {},
  extra: Record<string, string> = {},
  prefix = 'archive',
): Uint8Array {
  return encodeZip([
    { name: `${prefix}/data.pkl`, data: pkl },
    ...Object.entries(storages).map(([k, data]) => ({ name: `${prefix}/data/${k}`, data })),
    ...Object.entries(extra).map(([k, v]) => ({ name: `${prefix}/${k}`, data: new TextEncoder().encode(v) })),
  ]);
}

const f32bytes = (values: number[]): Uint8Array => new Uint8Array(new Float32Array(values).buffer);

describe('hand-built archives', () => {
  const oneTensor = (size: number[], stride: number[], offset = 0, numel = 6): Uint8Array =>
    new PickleBuilder()
      .emptyDict()
      .str('w')
      .tensor((b) => b.storage('FloatStorage', '0', numel), offset, size, stride)
      .setitem()
      .stop();

  it('any prefix folder name works, and strides/offsets are honoured', () => {
    const zip = torchZip(oneTensor([2, 2], [1, 3], 1), { 0: f32bytes([0, 1, 2, 3, 4, 5]) }, {}, 'my_model');
    expect(readPth(zip).w).toEqual(fromNumbers('float32', [2, 2], [1, 4, 2, 5]));
  });

  it('honours a big-endian byteorder record', () => {
    const be = f32bytes([1, 2]).reverse(); // reversing the whole buffer also swaps the element order
    const zip = torchZip(oneTensor([2], [1], 0, 2), { 0: be }, { byteorder: 'big' });
    expect(Array.from(readPth(zip).w?.data as Float32Array)).toEqual([2, 1]);
  });

  it.each([
    [
      'a view past the end of its storage',
      oneTensor([2, 3], [3, 1], 1),
      /view \(offset 1, size \[2, 3\], stride \[3, 1\]\) reaches element 6, the storage has 6/,
    ],
    ['size and stride of different rank', oneTensor([6], [1, 1]), /size .* and stride .* are not matching/],
    [
      'an expanded view too large to materialise',
      oneTensor([100000, 100000], [0, 0]),
      /materialising the view of size \[100000, 100000\] \(10000000000 float32 elements\) would need 37.3 GiB.*over the reading budget of 2.0 GiB/,
    ],
    [
      'a storage whose record is the wrong size',
      oneTensor([6], [1], 0, 7),
      /storage 0 should hold 7 float32 elements \(28 bytes\), its record has 24/,
    ],
  ])('refuses %s', (_label, pkl, message) => {
    expect(() => readPth(torchZip(pkl, { 0: f32bytes([0, 1, 2, 3, 4, 5]) }))).toThrow(message);
  });

  it('refuses a missing storage record, naming it', () => {
    expect(() => readPth(torchZip(oneTensor([6], [1])))).toThrow(/storage 0 has no record archive\/data\/0/);
  });

  it('refuses storages when only a pickle is given', () => {
    expect(() => readTorchPickle(oneTensor([6], [1]))).toThrow(/refers to storage 0 but no tensor data was given/);
  });

  it('refuses unknown opcodes, bad memo reads, broken stacks', () => {
    expect(() => readTorchPickle(new PickleBuilder().op(0x69).stop())).toThrow(/unsupported pickle opcode 0x69/);
    expect(() => readTorchPickle(new PickleBuilder().op(0x68, 9).stop())).toThrow(/memo entry 9 was never stored/);
    expect(() => readTorchPickle(new PickleBuilder().op(0x73).stop())).toThrow(/pops an empty stack/);
    expect(() => readTorchPickle(new PickleBuilder().none().none().stop())).toThrow(/STOP with a malformed stack/);
    expect(() => readTorchPickle(new PickleBuilder().emptyList().none().op(0x62).stop())).toThrow(/BUILD on a tuple\/list/);
    expect(() => readTorchPickle(new PickleBuilder().global('collections', 'OrderedDict').stop())).toThrow(
      /holds collections\.OrderedDict as a value/,
    );
    expect(() => readTorchPickle(Uint8Array.from([0x80, 9, 0x2e]))).toThrow(/protocol 9/);
  });

  it('keeps shared references shared and survives self-reference', () => {
    // l = []; l.append(l); {'a': l, 'b': l}
    const p = new PickleBuilder()
      .emptyDict()
      .str('a')
      .emptyList()
      .op(0x71, 0)
      .op(0x68, 0)
      .op(0x61)
      .setitem()
      .str('b')
      .op(0x68, 0)
      .setitem()
      .stop();
    const v = readTorchPickle(p) as TorchDict;
    expect(v.a).toBe(v.b);
    expect((v.a as unknown[])[0]).toBe(v.a);
  });
});

describe('damaged .pth files', () => {
  it('every truncation throws', () => {
    const bytes = fs.readFileSync(fixture('checkpoint.pth'));
    expectEveryTruncationThrows(bytes, (b) => readPth(b));
    expectEveryTruncationThrows(fs.readFileSync(fixture('state_dict.pth')), (b) => readPth(b), 3);
  });

  it('every truncation of the pickle stream throws', () => {
    const pkl = new PickleBuilder()
      .emptyDict()
      .str('w')
      .tensor((b) => b.storage('FloatStorage', '0', 1), 0, [1], [1])
      .setitem()
      .str('n')
      .op(0x8a, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9)
      .setitem()
      .str('f')
      .op(0x47, 1, 2, 3, 4, 5, 6, 7, 8)
      .setitem()
      .stop();
    const loadStorage = (): Uint8Array => f32bytes([1]);
    expect(readTorchPickle(pkl, { loadStorage })).toBeDefined();
    expectEveryTruncationThrows(pkl, (b) => readTorchPickle(b, { loadStorage }));
  });

  it('byte flips either parse or throw an Error', () => {
    expect(expectByteFlipsAreSafe(fs.readFileSync(fixture('checkpoint.pth')), (b) => readTorchFile(b))).toBeGreaterThan(0);
  });

  it('byte flips inside the pickle stream either parse or throw an Error', () => {
    const pkl = new PickleBuilder()
      .emptyDict()
      .str('w')
      .tensor((b) => b.storage('FloatStorage', '0', 6), 1, [2, 2], [1, 3])
      .setitem()
      .stop();
    expectByteFlipsAreSafe(pkl, (b) => readTorchPickle(b, { loadStorage: () => f32bytes([0, 1, 2, 3, 4, 5]) }));
  });
});
