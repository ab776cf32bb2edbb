import type { ArrayDType, NdArray } from '../array';
import { ReadBudget } from './budget';
import { DTYPE_SIZE, HOST_LITTLE_ENDIAN, fromBytes, gatherStrided, isContiguous, isValidShape, numel, swapBytes } from './convert';
import { shown, setOwn } from './record';

/**
 * A pickle reader for the files torch.save writes. It is a data decoder, not a Python VM: the only
 * globals it accepts are the allow-listed torch rebuild functions, storage types and
 * collections.OrderedDict, each implemented here in TypeScript. Any other global is refused
 * before anything is built, so nothing named in a file is ever executed.
 */

/** Two hex digits per byte value. */
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** A value read from a PyTorch pickle: tensors become NdArrays; dicts plain objects; lists and tuples arrays. */
export type TorchValue = null | boolean | number | bigint | string | Uint8Array | NdArray | TorchValue[] | TorchDict;

/** A Python dict read from a pickle. Non-string keys (ints) are turned into strings. */
export interface TorchDict {
  [key: string]: TorchValue;
}

/** What a persistent id asks for: one storage of a torch.save archive. */
export interface StorageRequest {
  /** The storage's record name (its file is `<prefix>/data/<key>` in the zip). */
  key: string;
  dtype: ArrayDType;
  /** Number of elements the pickle says the storage holds. */
  numel: number;
  /** Device it was saved from, e.g. "cpu" or "cuda:0" (ignored: everything loads to memory). */
  location: string;
}

/** Options of readTorchPickle. */
export interface TorchPickleOptions {
  /** The name used in error messages. */
  file?: string;
  /**
   * Returns the raw bytes of a storage; without it, any tensor in the pickle is an error. Called
   * after STOP, once per storage, in the order the pickle first named them.
   */
  loadStorage?: (request: StorageRequest) => Uint8Array;
  /**
   * Called once after STOP, before any loadStorage, with every storage the pickle named and the
   * offset just past the pickle (the legacy format lays its storages out after it).
   */
  beforeStorages?: (requests: readonly StorageRequest[], end: number) => void;
  /** Where the pickle starts in `bytes` (default 0); several pickles may follow each other. */
  start?: number;
  /**
   * Read globals off the allow-list as inert data instead of refusing them (default false): an object
   * of such a class becomes `{ __class__, __args__, __state__ }`, nothing is called. Tensors and
   * storages still need the allow-listed rebuilds. readPth uses it to reach a state dict beside
   * other objects (an argparse.Namespace, a numpy scalar).
   */
  opaqueGlobals?: boolean;
  /** Byte order of the storages' bytes (default little-endian, as torch writes on every common machine). */
  storageLittleEndian?: boolean;
  /**
   * What the reader may allocate (pickle values, tensors materialised from views, byte-swapped
   * storages); default: a fresh budget of the limits in force.
   */
  budget?: ReadBudget;
}

/** The storage classes torch names in persistent ids, and the dtype each holds. */
const STORAGE_TYPES: Record<string, ArrayDType> = {
  'torch.FloatStorage': 'float32',
  'torch.DoubleStorage': 'float64',
  'torch.HalfStorage': 'float16',
  'torch.BFloat16Storage': 'bfloat16',
  'torch.LongStorage': 'int64',
  'torch.IntStorage': 'int32',
  'torch.ShortStorage': 'int16',
  'torch.CharStorage': 'int8',
  'torch.ByteStorage': 'uint8',
  'torch.BoolStorage': 'bool',
};
/** Classes that may only appear as the type argument of _rebuild_from_type_v2. */
const TENSOR_TYPES = new Set(['torch.Tensor', 'torch.nn.parameter.Parameter']);

class PyGlobal {
  constructor(
    readonly qualname: string,
    /** Off the allow-list, read with `opaqueGlobals`: calling it makes an inert Opaque, never runs anything. */
    readonly opaque = false,
  ) {}
}
/** An object of a class off the allow-list (opaqueGlobals only): its class name and the data it was given. */
class Opaque {
  state: Val = null;
  constructor(
    readonly qualname: string,
    readonly args: Val[],
  ) {}
}
class PyDict {
  readonly items = new Map<string, Val>();
}
/** A tensor waiting for its storage's bytes: its strided view, already checked against the storage's size. */
interface PendingTensor {
  tensor: NdArray;
  offset: number;
  size: number[];
  stride: number[];
}
class Storage {
  /** The tensors viewing `bytes` in place (not copies); when more than one does, all but the first get copies. */
  readonly views: NdArray[] = [];
  /** Tensors on this storage, filled once its bytes are loaded (after STOP: legacy files store data after the pickle). */
  readonly pending: PendingTensor[] = [];
  /** The storage's bytes, once loaded. */
  bytes: Uint8Array = new Uint8Array(0);
  constructor(readonly request: StorageRequest) {}
  get key(): string {
    return this.request.key;
  }
  get dtype(): ArrayDType {
    return this.request.dtype;
  }
  get numel(): number {
    return this.request.numel;
  }
}
/** Everything that can sit on the pickle stack. Plain objects are always NdArrays. */
type Val = null | boolean | number | bigint | string | Uint8Array | NdArray | Val[] | PyDict | PyGlobal | Storage | Opaque;

type Callable = (args: Val[], r: Reader) => Val;

/** The allow-list: each global a pickle may call, implemented here. */
const CALLABLES: Record<string, Callable> = {
  'collections.OrderedDict': (args, r) => {
    const d = new PyDict();
    const pairs = args[0];
    if (args.length > 1 || (pairs !== undefined && !Array.isArray(pairs))) r.fail('OrderedDict() takes at most a list of pairs');
    for (const pair of (pairs as Val[] | undefined) ?? []) {
      if (!Array.isArray(pair) || pair.length !== 2) r.fail('OrderedDict() pair is not a (key, value) tuple');
      r.setItem(d, (pair as Val[])[0] ?? null, (pair as Val[])[1] ?? null);
    }
    return d;
  },
  'torch._utils._rebuild_tensor_v2': (args, r) => r.rebuildTensor(args),
  'torch._utils._rebuild_tensor': (args, r) => r.rebuildTensor(args),
  'torch._utils._rebuild_parameter': (args, r) => r.tensorArg(args[0], '_rebuild_parameter'),
  'torch._utils._rebuild_parameter_with_state': (args, r) => r.tensorArg(args[0], '_rebuild_parameter_with_state'),
  'torch._tensor._rebuild_from_type_v2': (args, r) => {
    const [fn, type, fnArgs] = args;
    if (!(type instanceof PyGlobal) || !TENSOR_TYPES.has(type.qualname))
      r.fail('_rebuild_from_type_v2 of a type other than Tensor or Parameter');
    if (!Array.isArray(fnArgs)) return r.fail('_rebuild_from_type_v2 arguments are not a tuple');
    return r.tensorArg(r.call(fn ?? null, fnArgs), '_rebuild_from_type_v2');
  },
  'torch.Size': (args, r) => {
    const dims = args[0] ?? [];
    if (!Array.isArray(dims)) r.fail('torch.Size() of a non-tuple');
    return dims;
  },
  'torch.device': (args, r) => {
    if (typeof args[0] !== 'string') r.fail('torch.device() of a non-string');
    return args.length > 1 ? `${String(args[0])}:${String(args[1])}` : (args[0] as string);
  },
  // Protocol 2 pickles Python 3 bytes as _codecs.encode(text, 'latin1').
  '_codecs.encode': (args, r) => {
    const [text, enc] = args;
    if (typeof text !== 'string' || (enc !== 'latin1' && enc !== 'latin-1')) r.fail('_codecs.encode other than (str, "latin1")');
    r.charge((text as string).length, '_codecs.encode bytes');
    return Uint8Array.from(text as string, (c) => c.charCodeAt(0) & 0xff);
  },
};

const ALLOWED = [...Object.keys(CALLABLES), ...Object.keys(STORAGE_TYPES), ...TENSOR_TYPES];

/** Decodes a PyTorch pickle stream into plain values, loading tensor data through `options.loadStorage`. */
export function readTorchPickle(bytes: Uint8Array, options: TorchPickleOptions = {}): TorchValue {
  return new Reader(bytes, options).run();
}

/** Decodes the pickle starting at `options.start` and returns it with the offset just past its STOP opcode. */
export function readTorchPickleAt(bytes: Uint8Array, options: TorchPickleOptions = {}): { value: TorchValue; end: number } {
  const reader = new Reader(bytes, options);
  const value = reader.run();
  return { value, end: reader.end };
}

/** Deepest nesting of MARKs, nested values and nested calls; torch.save's pickles nest a few levels. */
const MAX_DEPTH = 1000;
/** Bytes charged to the budget for each container or reference the reader creates (a generous estimate). */
const VALUE_COST = 64;

class Reader {
  private pos = 0;
  private stack: Val[] = [];
  private readonly marks: Val[][] = [];
  private readonly memo = new Map<number, Val>();
  private readonly storages = new Map<string, Storage>();
  private readonly view: DataView;
  private readonly file: string;
  private readonly budget: ReadBudget;
  private callDepth = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly options: TorchPickleOptions,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.file = options.file ?? '<bytes>';
    this.budget = options.budget ?? new ReadBudget(this.file);
    this.pos = options.start ?? 0;
  }

  /** The offset just past the last opcode read. */
  get end(): number {
    return this.pos;
  }

  /** Counts `bytes` about to be allocated against the read's budget. */
  charge(bytes: number, what: string): void {
    this.budget.take(bytes, `pickle byte ${this.pos}: ${what}`);
  }

  fail(what: string): never {
    throw new Error(`${this.file}: pickle byte ${this.pos}: ${what}`);
  }

  run(): TorchValue {
    for (;;) {
      if (this.pos >= this.bytes.length) this.fail('the pickle ends without a STOP opcode (truncated?)');
      const at = this.pos;
      const op = this.u8();
      switch (op) {
        case 0x80: {
          // PROTO
          const proto = this.u8();
          if (proto > 5) this.fail(`pickle protocol ${proto} is not supported (2 to 5 are)`);
          break;
        }
        case 0x95:
          this.take(8);
          break; // FRAME: a length hint only
        case 0x2e: {
          // STOP
          if (this.stack.length !== 1 || this.marks.length !== 0) this.fail('STOP with a malformed stack');
          const result = toTorchValue(this.pop(), this, new Map(), 0);
          this.loadStorages();
          this.unshareViews();
          return result;
        }
        case 0x28: {
          // MARK
          if (this.marks.length >= MAX_DEPTH) this.fail(`MARKs nest deeper than ${MAX_DEPTH} levels`);
          this.marks.push(this.stack);
          this.stack = [];
          break;
        }
        case 0x31:
          this.popMark();
          break; // POP_MARK
        case 0x30:
          this.pop();
          break; // POP
        case 0x32:
          this.push(this.top());
          break; // DUP
        case 0x4e:
          this.push(null);
          break; // NONE
        case 0x88:
          this.push(true);
          break; // NEWTRUE
        case 0x89:
          this.push(false);
          break; // NEWFALSE
        case 0x4a:
          this.push(this.view.getInt32(this.take(4), true));
          break; // BININT
        case 0x4b:
          this.push(this.u8());
          break; // BININT1
        case 0x4d:
          this.push(this.view.getUint16(this.take(2), true));
          break; // BININT2
        case 0x8a:
          this.push(this.long(this.u8()));
          break; // LONG1
        case 0x8b:
          this.push(this.long(this.len(this.view.getInt32(this.take(4), true))));
          break; // LONG4
        case 0x47:
          this.push(this.view.getFloat64(this.take(8), false));
          break; // BINFLOAT (big-endian)
        case 0x58:
          this.push(this.utf8(this.len(this.view.getUint32(this.take(4), true))));
          break; // BINUNICODE
        case 0x8c:
          this.push(this.utf8(this.u8()));
          break; // SHORT_BINUNICODE
        case 0x8d:
          this.push(this.utf8(this.u64()));
          break; // BINUNICODE8
        case 0x54:
          this.push(this.latin1(this.len(this.view.getInt32(this.take(4), true))));
          break; // BINSTRING
        case 0x55:
          this.push(this.latin1(this.u8()));
          break; // SHORT_BINSTRING
        case 0x42:
          this.push(this.raw(this.view.getUint32(this.take(4), true)));
          break; // BINBYTES
        case 0x43:
          this.push(this.raw(this.u8()));
          break; // SHORT_BINBYTES
        case 0x8e:
        case 0x96:
          this.push(this.raw(this.u64()));
          break; // BINBYTES8, BYTEARRAY8
        case 0x29:
          this.push([]);
          break; // EMPTY_TUPLE
        case 0x5d:
          this.push([]);
          break; // EMPTY_LIST
        case 0x7d:
          this.push(new PyDict());
          break; // EMPTY_DICT
        case 0x8f:
          this.push([]);
          break; // EMPTY_SET: a set becomes an array
        case 0x74:
        case 0x6c:
        case 0x91:
          this.push(this.popMark());
          break; // TUPLE, LIST, FROZENSET
        case 0x85:
          this.push([this.pop()]);
          break; // TUPLE1
        case 0x86: {
          const b = this.pop();
          this.push([this.pop(), b]);
          break;
        } // TUPLE2
        case 0x87: {
          const c = this.pop();
          const b = this.pop();
          this.push([this.pop(), b, c]);
          break;
        } // TUPLE3
        case 0x64: {
          // DICT
          const items = this.popMark();
          const d = new PyDict();
          this.setItems(d, items);
          this.push(d);
          break;
        }
        case 0x61: {
          const v = this.pop();
          this.charge(8, 'list item');
          this.listTop('APPEND').push(v);
          break;
        } // APPEND
        case 0x65:
        case 0x90: {
          // APPENDS, ADDITEMS
          const items = this.popMark();
          const list = this.listTop('APPENDS');
          this.charge(8 * items.length, 'list items');
          for (const v of items) list.push(v);
          break;
        }
        case 0x73: {
          // SETITEM
          const v = this.pop();
          const k = this.pop();
          this.setItem(this.dictTop('SETITEM'), k, v);
          break;
        }
        case 0x75: {
          const items = this.popMark();
          this.setItems(this.dictTop('SETITEMS'), items);
          break;
        } // SETITEMS
        case 0x71:
          this.memoize(this.u8());
          break; // BINPUT
        case 0x72:
          this.memoize(this.view.getUint32(this.take(4), true));
          break; // LONG_BINPUT
        case 0x94:
          this.memoize(this.memo.size);
          break; // MEMOIZE
        case 0x68:
          this.push(this.get(this.u8()));
          break; // BINGET
        case 0x6a:
          this.push(this.get(this.view.getUint32(this.take(4), true)));
          break; // LONG_BINGET
        case 0x63: {
          // GLOBAL "module\nname\n"
          const module = this.line();
          this.push(this.global(module, this.line()));
          break;
        }
        case 0x93: {
          // STACK_GLOBAL
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string')
            this.fail(`STACK_GLOBAL of ${describe(module)} and ${describe(name)}, expected two strings`);
          this.push(this.global(module as string, name as string));
          break;
        }
        case 0x51:
          this.push(this.persistentLoad(this.pop()));
          break; // BINPERSID
        case 0x52:
        case 0x81: {
          // REDUCE, NEWOBJ: callable(*args)
          const args = this.pop();
          const fn = this.pop();
          if (!Array.isArray(args)) this.fail('call arguments are not a tuple');
          this.push(this.call(fn, args as Val[]));
          break;
        }
        case 0x92: {
          // NEWOBJ_EX: cls(*args, **kwargs)
          const kwargs = this.pop();
          const args = this.pop();
          const cls = this.pop();
          if (!Array.isArray(args) || !(kwargs instanceof PyDict) || kwargs.items.size > 0) this.fail('NEWOBJ_EX with keyword arguments');
          this.push(this.call(cls, args as Val[]));
          break;
        }
        case 0x62: {
          // BUILD: set an object's state
          const state = this.pop();
          const obj = this.top();
          // OrderedDict state is its attributes (a state dict's _metadata), not items: drop it.
          if (obj instanceof Opaque) obj.state = state;
          else if (!(obj instanceof PyDict)) this.fail(`BUILD on ${describe(obj)} is not supported`);
          break;
        }
        default:
          this.pos = at;
          this.fail(
            `unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} (${JSON.stringify(String.fromCharCode(op))}); only the binary opcodes of protocols 2-5 that torch.save uses are read`,
          );
      }
    }
  }

  // --- reading bytes -------------------------------------------------------------------------

  private take(n: number): number {
    if (n > this.bytes.length - this.pos) this.fail(`needs ${n} more bytes, ${this.bytes.length - this.pos} remain (truncated?)`);
    const at = this.pos;
    this.pos += n;
    return at;
  }
  private u8(): number {
    return this.bytes[this.take(1)] ?? 0;
  }
  private u64(): number {
    const v = this.view.getBigUint64(this.take(8), true);
    return this.len(v > BigInt(this.bytes.length) ? -1 : Number(v));
  }
  private len(n: number): number {
    if (n < 0 || n > this.bytes.length - this.pos) this.fail(`length ${n} runs past the end of the pickle (truncated?)`);
    return n;
  }
  private raw(n: number): Uint8Array {
    const at = this.take(n);
    this.charge(n, 'bytes value');
    return this.bytes.slice(at, at + n);
  }
  private utf8(n: number): string {
    const at = this.take(n);
    this.charge(2 * n, 'string value'); // UTF-16 in memory
    return new TextDecoder('utf-8').decode(this.bytes.subarray(at, at + n));
  }
  private latin1(n: number): string {
    const at = this.take(n);
    this.charge(2 * n, 'string value');
    return new TextDecoder('latin1').decode(this.bytes.subarray(at, at + n));
  }
  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0 || end - this.pos > 1000) this.fail('GLOBAL name is not terminated by a newline');
    return this.latin1(end - this.pos + 1).slice(0, -1);
  }
  /**
   * Little-endian two's complement integer of n bytes: a number when it is safe, else a bigint. Built
   * from one hex string in linear time (shifting in a byte at a time is quadratic: minutes for 1 MiB).
   */
  private long(n: number): number | bigint {
    const at = this.take(n);
    if (n === 0) return 0;
    this.charge(3 * n, 'long integer');
    let hex = '';
    for (let i = at + n - 1; i >= at; i--) hex += HEX[this.bytes[i] ?? 0];
    let v = BigInt(`0x${hex}`);
    if ((this.bytes[at + n - 1] ?? 0) & 0x80) v -= 1n << BigInt(8 * n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  // --- the stack -----------------------------------------------------------------------------

  private push(v: Val): void {
    if (typeof v === 'object' && v !== null && !(v instanceof Uint8Array)) this.charge(VALUE_COST, 'value');
    else this.charge(8, 'value');
    this.stack.push(v);
  }
  private memoize(i: number): void {
    this.charge(VALUE_COST, 'memo entry');
    this.memo.set(i, this.top());
  }
  private pop(): Val {
    if (this.stack.length === 0) this.fail('pops an empty stack (corrupted pickle)');
    return this.stack.pop() as Val;
  }
  private top(): Val {
    if (this.stack.length === 0) this.fail('reads an empty stack (corrupted pickle)');
    return this.stack[this.stack.length - 1] as Val;
  }
  private popMark(): Val[] {
    const items = this.stack;
    const prev = this.marks.pop();
    if (!prev) return this.fail('no MARK to pop to (corrupted pickle)');
    this.stack = prev;
    return items;
  }
  private get(i: number): Val {
    if (!this.memo.has(i)) this.fail(`memo entry ${i} was never stored (corrupted pickle)`);
    return this.memo.get(i) as Val;
  }
  private listTop(op: string): Val[] {
    const list = this.top();
    if (!Array.isArray(list)) return this.fail(`${op} to ${describe(list)}, expected a list`);
    return list;
  }
  private dictTop(op: string): PyDict {
    const d = this.top();
    if (!(d instanceof PyDict)) return this.fail(`${op} on ${describe(d)}, expected a dict`);
    return d;
  }
  setItem(d: PyDict, k: Val, v: Val): void {
    this.charge(VALUE_COST, 'dict item');
    if (typeof k === 'string') d.items.set(k, v);
    else if ((typeof k === 'number' && Number.isFinite(k)) || typeof k === 'bigint') d.items.set(String(k), v);
    else this.fail(`dict key ${describe(k)} is not supported (only str and int keys are)`);
  }
  private setItems(d: PyDict, items: Val[]): void {
    if (items.length % 2 !== 0) this.fail('odd number of items for a dict');
    for (let i = 0; i < items.length; i += 2) this.setItem(d, items[i] ?? null, items[i + 1] ?? null);
  }

  // --- globals, calls, storages, tensors -----------------------------------------------------

  private global(module: string, name: string): PyGlobal {
    const qualname = `${module}.${name}`;
    if (!ALLOWED.includes(qualname) && this.options.opaqueGlobals === true) return new PyGlobal(qualname, true);
    if (!ALLOWED.includes(qualname)) {
      this.fail(
        `refusing to load global ${shown(qualname)}: it is not on the allow-list (${ALLOWED.join(', ')}). ` +
          'Nothing in the file was executed; a plain state dict saved with torch.save(model.state_dict(), f) needs nothing else',
      );
    }
    return new PyGlobal(qualname);
  }

  call(fn: Val, args: Val[]): Val {
    if (fn instanceof PyGlobal && fn.opaque) {
      this.charge(VALUE_COST, 'object');
      return new Opaque(fn.qualname, args);
    }
    const impl =
      fn instanceof PyGlobal && Object.prototype.hasOwnProperty.call(CALLABLES, fn.qualname) ? CALLABLES[fn.qualname] : undefined;
    if (!impl) return this.fail(`${describe(fn)} cannot be called`);
    // _rebuild_from_type_v2 calls its first argument: a file can nest such calls arbitrarily deep.
    if (this.callDepth >= MAX_DEPTH) this.fail(`calls nest deeper than ${MAX_DEPTH} levels`);
    this.callDepth++;
    try {
      return impl(args, this);
    } finally {
      this.callDepth--;
    }
  }

  private persistentLoad(pid: Val): Storage {
    // torch.save: ('storage', StorageType, key, location, numel[, view_metadata])
    if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5)
      return this.fail(`persistent id ${describe(pid)} is not a ('storage', ...) tuple`);
    const [, type, key, location, count, view] = pid;
    // The legacy format's sixth item: (view_key, offset, size) for a view of a storage, written only before torch 0.4.
    if (view !== undefined && view !== null)
      this.fail(
        `storage ${describe(key ?? null)} is a storage view (torch < 0.4), which is not supported; load it in Python and re-save it`,
      );
    const dtype =
      type instanceof PyGlobal && Object.prototype.hasOwnProperty.call(STORAGE_TYPES, type.qualname)
        ? STORAGE_TYPES[type.qualname]
        : undefined;
    if (!dtype) return this.fail(`persistent id names ${describe(type ?? null)}, not a known storage type`);
    if (typeof key !== 'string' || typeof location !== 'string' || typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) {
      return this.fail(`persistent id for storage ${describe(key ?? null)} is malformed`);
    }
    const cached = this.storages.get(key);
    if (cached) {
      if (cached.dtype !== dtype) this.fail(`storage ${key} is used as both ${cached.dtype} and ${dtype}`);
      return cached;
    }
    if (!this.options.loadStorage)
      this.fail(`the pickle refers to storage ${key} but no tensor data was given (use readTorchFile on the .pth file)`);
    this.charge(VALUE_COST, 'storage');
    const storage = new Storage({ key, dtype, numel: count, location });
    this.storages.set(key, storage);
    return storage;
  }

  /** Loads every storage the pickle named (checking its size, swapping its bytes if needed) and fills its tensors. */
  private loadStorages(): void {
    const all = [...this.storages.values()];
    this.options.beforeStorages?.(
      all.map((s) => s.request),
      this.pos,
    );
    for (const storage of all) {
      const { key, dtype, numel: count } = storage.request;
      const raw = (this.options.loadStorage as (r: StorageRequest) => Uint8Array)(storage.request);
      const size = DTYPE_SIZE[dtype];
      if (raw.length !== count * size)
        this.fail(
          `storage ${shown(key)} should hold ${count} ${dtype} elements (${count * size} bytes), its record has ${raw.length} bytes`,
        );
      storage.bytes = raw;
      if ((this.options.storageLittleEndian ?? true) !== HOST_LITTLE_ENDIAN && size > 1) {
        this.charge(raw.length, `byte-swapped copy of storage ${shown(key)}`);
        storage.bytes = raw.slice();
        swapBytes(storage.bytes, size);
      }
      for (const p of storage.pending) this.fillTensor(storage, p);
    }
  }

  /**
   * _rebuild_tensor_v2(storage, storage_offset, size, stride, ...): a strided view, checked against
   * the storage's size now and given its data once the storages are loaded (fillTensor).
   */
  rebuildTensor(args: Val[]): NdArray {
    const [storage, offset, size, stride] = args;
    if (!(storage instanceof Storage)) return this.fail(`tensor rebuilt from ${describe(storage ?? null)}, expected a storage`);
    const where = `tensor on storage ${shown(storage.key)}`;
    if (!isValidShape(size) || !isValidShape(stride) || size.length !== stride.length) {
      return this.fail(
        `${where}: size ${describe(size ?? null)} and stride ${describe(stride ?? null)} are not matching tuples of non-negative ints`,
      );
    }
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0)
      return this.fail(`${where}: storage offset ${describe(offset ?? null)} is invalid`);
    const n = numel(size);
    if (n > 0) {
      let last = offset;
      size.forEach((d, k) => {
        last += (d - 1) * (stride[k] ?? 0);
      });
      if (last >= storage.numel) {
        this.fail(
          `${where}: view (offset ${offset}, size [${size.join(', ')}], stride [${stride.join(', ')}]) reaches element ${last}, the storage has ${storage.numel}`,
        );
      }
    }
    const tensor: NdArray = { dtype: storage.dtype, shape: [...size], data: fromBytes(storage.dtype, new Uint8Array(0)) };
    storage.pending.push({ tensor, offset, size: [...size], stride: [...stride] });
    TENSORS.add(tensor);
    return tensor;
  }

  /**
   * Gives a pending tensor its data: a contiguous view of aligned storage bytes in place (no copy:
   * the tensor shares the file's memory); any other view materialised row-major, counted first.
   */
  private fillTensor(storage: Storage, { tensor, offset, size, stride }: PendingTensor): void {
    const where = `tensor on storage ${shown(storage.key)}`;
    const n = numel(size);
    const itemSize = DTYPE_SIZE[storage.dtype];
    const start = storage.bytes.byteOffset + offset * itemSize;
    const inPlace = isContiguous(size, stride) && start % itemSize === 0 && (storage.dtype !== 'bool' || isZeroOne(storage.bytes));
    if (inPlace) {
      tensor.data = fromBytes(storage.dtype, storage.bytes.subarray(offset * itemSize, (offset + n) * itemSize));
      storage.views.push(tensor);
    } else {
      // A zero stride (expand) makes a view far bigger than its storage: counted before allocating.
      this.charge(n * itemSize, `${where}: materialising the view of size [${size.join(', ')}] (${n} ${storage.dtype} elements)`);
      const out = gatherStrided(storage.bytes, itemSize, size, stride, offset);
      if (storage.dtype === 'bool') for (let i = 0; i < out.length; i++) out[i] = out[i] ? 1 : 0;
      tensor.data = fromBytes(storage.dtype, out);
    }
  }

  /**
   * Tensors that share a storage get independent memory, as before views: the first keeps the view,
   * the others get copies (counted against the budget). Tied weights are rare; most storages have one tensor.
   */
  private unshareViews(): void {
    for (const storage of this.storages.values()) {
      for (const tensor of storage.views.slice(1)) {
        this.charge(tensor.data.byteLength, `copy of a tensor sharing storage ${shown(storage.key)}`);
        tensor.data = tensor.data.slice() as typeof tensor.data;
      }
    }
  }

  tensorArg(v: Val | undefined, fn: string): NdArray {
    if (!isNdArrayVal(v ?? null)) return this.fail(`${fn} of ${describe(v ?? null)}, expected a tensor`);
    return v as NdArray;
  }
}

function isNdArrayVal(v: Val): v is NdArray {
  return (
    v !== null &&
    typeof v === 'object' &&
    !Array.isArray(v) &&
    !(v instanceof Uint8Array) &&
    !(v instanceof PyDict) &&
    !(v instanceof PyGlobal) &&
    !(v instanceof Storage) &&
    !(v instanceof Opaque)
  );
}

/** Every tensor the reader made, so isNdArray never mistakes a dict with 'dtype'/'shape'/'data' keys for one. */
const TENSORS = new WeakSet<object>();

/** Returns true when a value returned by readTorchPickle / readTorchFile is a tensor (an NdArray). */
export function isNdArray(v: TorchValue | undefined): v is NdArray {
  return v !== null && typeof v === 'object' && TENSORS.has(v);
}

function describe(v: Val): string {
  if (v instanceof PyGlobal) return v.qualname;
  if (v instanceof Opaque) return `a ${shown(v.qualname)} object`;
  if (v instanceof PyDict) return 'a dict';
  if (v instanceof Storage) return `storage ${v.key}`;
  if (Array.isArray(v)) return `a tuple/list of ${v.length}`;
  if (v instanceof Uint8Array) return 'bytes';
  if (isNdArrayVal(v)) return 'a tensor';
  if (typeof v === 'bigint') return `an integer of ${v.toString(16).length * 4} bits`;
  return typeof v === 'string' ? shown(v) : String(v);
}

function isZeroOne(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if ((bytes[i] ?? 0) > 1) return false;
  return true;
}

/** Converts the internal stack values to public ones, keeping shared references (and cycles) shared. */
function toTorchValue(v: Val, r: Reader, seen: Map<object, TorchValue>, depth: number): TorchValue {
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v;
  if ((v instanceof PyGlobal && !v.opaque) || v instanceof Storage)
    return r.fail(`the result holds ${describe(v)} as a value, which is not supported`);
  if (isNdArrayVal(v)) return v;
  const done = seen.get(v);
  if (done !== undefined) return done;
  if (depth > MAX_DEPTH) r.fail(`values nest deeper than ${MAX_DEPTH} levels`);
  if (v instanceof PyGlobal || v instanceof Opaque) {
    const out: TorchDict = {};
    seen.set(v, out);
    setOwn(out, '__class__', v.qualname);
    if (v instanceof Opaque) {
      setOwn(out, '__args__', toTorchValue(v.args, r, seen, depth + 1));
      setOwn(out, '__state__', toTorchValue(v.state, r, seen, depth + 1));
    }
    return out;
  }
  if (Array.isArray(v)) {
    const out: TorchValue[] = [];
    seen.set(v, out);
    for (const item of v) out.push(toTorchValue(item, r, seen, depth + 1));
    return out;
  }
  const out: TorchDict = {};
  seen.set(v, out);
  for (const [k, item] of v.items) setOwn(out, k, toTorchValue(item, r, seen, depth + 1));
  return out;
}
