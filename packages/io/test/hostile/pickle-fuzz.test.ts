/**
 * Structure-aware fuzz of the pickle reader: seeded random streams of the opcodes torch.save uses,
 * with allow-listed and forbidden globals, storages and tensor rebuilds, so the reader's deeper paths
 * (calls, persistent ids, strided views, memo, BUILD) see wrong arity, wrong types and wrong order.
 * Each stream must decode to well-formed values or fail with one plain, one-line Error naming the
 * file, quickly; a quarter of them read with opaqueGlobals (other classes as inert data). The byte-level fuzz of whole files is in formats.test.ts.
 */
import { checkNdArray, isNdArray, readTorchPickle, type TorchValue } from '../../src';
import { seeded } from './craft';

const GLOBALS = [
  'collections\nOrderedDict',
  'torch._utils\n_rebuild_tensor_v2',
  'torch._utils\n_rebuild_tensor',
  'torch._utils\n_rebuild_parameter',
  'torch._tensor\n_rebuild_from_type_v2',
  'torch\nSize',
  'torch\ndevice',
  '_codecs\nencode',
  'torch\nFloatStorage',
  'torch\nHalfStorage',
  'torch\nBoolStorage',
  'torch\nLongStorage',
  'torch\nTensor',
  'torch.nn.parameter\nParameter',
  'os\nsystem',
  'builtins\ngetattr',
  'builtins\neval',
];
const STRINGS = ['storage', '0', '1', 'cpu', 'latin1', 'w', '__proto__'];
const text = (s: string): number[] => Array.from(Buffer.from(s, 'latin1'));
const u32 = (v: number): number[] => [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255];

/** One random opcode with plausible arguments. */
function opcode(next: () => number): number[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
  const byte = (): number => Math.floor(next() * 256);
  return pick<() => number[]>([
    () => [0x28], // MARK
    () => [0x74], // TUPLE
    () => [0x29], // EMPTY_TUPLE
    () => [0x4b, Math.floor(next() * 8)], // BININT1, small: sizes, strides, offsets
    () => [0x4a, ...u32(Math.floor(next() * 2 ** 32))], // BININT
    () => [0x8a, 3, byte(), byte(), byte()], // LONG1
    () => [
      0x8c,
      ...(() => {
        const s = pick(STRINGS);
        return [s.length, ...text(s)];
      })(),
    ], // SHORT_BINUNICODE
    () => [0x63, ...text(`${pick(GLOBALS)}\n`)], // GLOBAL
    () => [0x52], // REDUCE
    () => [0x81], // NEWOBJ
    () => [0x51], // BINPERSID
    () => [0x85], // TUPLE1
    () => [0x86], // TUPLE2
    () => [0x87], // TUPLE3
    () => [0x7d], // EMPTY_DICT
    () => [0x5d], // EMPTY_LIST
    () => [0x73], // SETITEM
    () => [0x75], // SETITEMS
    () => [0x61], // APPEND
    () => [0x65], // APPENDS
    () => [0x71, Math.floor(next() * 4)], // BINPUT
    () => [0x68, Math.floor(next() * 4)], // BINGET
    () => [0x94], // MEMOIZE
    () => [0x62], // BUILD
    () => [0x4e], // NONE
    () => [0x88], // NEWTRUE
    () => [0x32], // DUP
    () => [0x30], // POP
    () => [0x31], // POP_MARK
    () => [0x93], // STACK_GLOBAL
    () => [0x47, ...Array.from({ length: 8 }, byte)], // BINFLOAT
    () => [0x43, 2, byte(), byte()], // SHORT_BINBYTES
  ])();
}

/** A tensor rebuild with random storage, offset, size and stride: mostly valid, sometimes not. */
function tensorStream(next: () => number): number[] {
  const int = (n: number): number[] => [0x4b, Math.floor(next() * n)];
  const storage = ['torch\nFloatStorage', 'torch\nBoolStorage', 'torch\nHalfStorage', 'torch\nLongStorage'][Math.floor(next() * 4)]!;
  const dims = Math.floor(next() * 4);
  const out = [0x80, 2, 0x7d, 0x8c, 1, ...text('w'), 0x63, ...text('torch._utils\n_rebuild_tensor_v2\n'), 0x28];
  out.push(0x28, 0x8c, 7, ...text('storage'), 0x63, ...text(`${storage}\n`), 0x8c, 1, ...text('0'), 0x8c, 3, ...text('cpu'));
  out.push(...int(12), 0x74, 0x51, ...int(4), 0x28);
  for (let i = 0; i < dims; i++) out.push(...int(5));
  out.push(0x74, 0x28);
  for (let i = 0; i < dims + (next() < 0.1 ? 1 : 0); i++) out.push(...int(4));
  out.push(0x74, 0x89, 0x63, ...text('collections\nOrderedDict\n'), 0x29, 0x52, 0x74, 0x52, 0x73, 0x2e);
  return out;
}

const ELEMENT = { float32: 4, float16: 2, bool: 1, int64: 8 } as Record<string, number>;

/** Every tensor in a decoded value is well-formed (dtype, shape and data agree). */
function wellFormed(v: TorchValue, seen = new Set<object>()): number {
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array || seen.has(v)) return 0;
  seen.add(v);
  if (isNdArray(v)) {
    checkNdArray(v, 'fuzz');
    return 1;
  }
  return Object.values(v).reduce<number>((n, x) => n + wellFormed(x, seen), 0);
}

describe('seeded structure-aware fuzz of the pickle reader', () => {
  it('4000 streams: well-formed values or one plain one-line Error naming the file, each fast', () => {
    const next = seeded(20261206);
    let decoded = 0;
    let tensors = 0;
    let refused = 0;
    for (let trial = 0; trial < 4000; trial++) {
      const bytes =
        trial % 2 === 0
          ? Uint8Array.from(tensorStream(next))
          : Uint8Array.from([0x80, 2, ...Array.from({ length: 1 + Math.floor(next() * 40) }, () => opcode(next)).flat(), 0x2e]);
      const loadStorage = ({ numel, dtype }: { numel: number; dtype: string }): Uint8Array =>
        Uint8Array.from({ length: numel * (ELEMENT[dtype] ?? 8) }, () => Math.floor(next() * 3));
      const t0 = Date.now();
      try {
        tensors += wellFormed(readTorchPickle(bytes, { file: 'fuzz.pkl', loadStorage, opaqueGlobals: trial % 4 === 1 }));
        decoded++;
      } catch (err) {
        const e = err as Error;
        const ok = e instanceof Error && e.constructor === Error && e.message.startsWith('fuzz.pkl: ') && !e.message.includes('\n');
        if (!ok)
          throw new Error(`stream ${Buffer.from(bytes).toString('hex')}: ${e?.constructor?.name}: ${String(e?.message).slice(0, 300)}`);
        if (/refusing to load global (os\.system|builtins\.)/.test(e.message)) refused++;
      }
      if (Date.now() - t0 > 500) throw new Error(`stream ${Buffer.from(bytes).toString('hex')} took ${Date.now() - t0} ms`);
    }
    // the generator reaches every outcome: values, tensors, and refused globals
    expect(decoded).toBeGreaterThan(400);
    expect(tensors).toBeGreaterThan(300);
    expect(refused).toBeGreaterThan(5);
  });
});
