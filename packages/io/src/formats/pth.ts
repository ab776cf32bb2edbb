import type { NdArray } from '../array';
import type { ReadLimits } from '../read-policy';
import { ReadBudget } from './budget';
import { isNdArray, readTorchPickle, type TorchDict, type TorchPickleOptions, type TorchValue } from './pickle';
import { loadSource, type ReadOptions, type Source } from './source';
import { decodeLegacyTorchFile, isLegacyTorch } from './pth-legacy';
import { isZip, readZip } from './zip';
import { setOwn, shown, shownJson } from './record';

/**
 * PyTorch .pth/.pt files as torch.save has written them since 1.6: a zip archive whose entries
 * sit under one folder (named after the file, or "archive"): `<prefix>/data.pkl` (the pickled
 * object), `<prefix>/data/<key>` (one raw storage per key), and in newer versions
 * `<prefix>/byteorder`. The legacy stream format before it is read by pth-legacy.ts.
 */

const RESAVE = 'load it in Python and re-save it with torch.save(obj, f)';

/**
 * Decodes the bytes of a torch.save file (a zip archive, or the legacy stream) into the saved object
 * tree (tensors as row-major NdArrays). Contiguous tensors on aligned storage (torch aligns its records to 64 bytes) are views
 * of `bytes`, sharing their memory; everything else allocated counts against the read budget.
 */
export function decodeTorchFile(
  bytes: Uint8Array,
  file = '<bytes>',
  limits?: Partial<ReadLimits> | ReadBudget,
  pickle: Pick<TorchPickleOptions, 'opaqueGlobals'> = {},
): TorchValue {
  const budget = limits instanceof ReadBudget ? limits : new ReadBudget(file, limits);
  if (!isZip(bytes)) {
    if (isLegacyTorch(bytes)) return decodeLegacyTorchFile(bytes, file, budget, pickle);
    if (isTar(bytes)) {
      throw new Error(`${file}: this is a tar archive, PyTorch's oldest (pre-0.4) format, which is not supported; ${RESAVE}`);
    }
    if (bytes[0] === 0x80) {
      throw new Error(`${file}: this is a bare pickle stream, not a torch.save zip archive; if torch.save wrote it, ${RESAVE}`);
    }
    throw new Error(`${file}: not a PyTorch zip archive (it does not start with "PK")`);
  }
  const zip = readZip(bytes, file, budget);
  const pickles = zip.entries.filter((e) => /^[^/]+\/data\.pkl$/.test(e.name));
  if (pickles.length !== 1) {
    throw new Error(
      `${file}: expected one <folder>/data.pkl entry in the archive, found ${pickles.length}` +
        ` (entries: ${zip.entries
          .slice(0, 8)
          .map((e) => shown(e.name))
          .join(', ')}${zip.entries.length > 8 ? ', ...' : ''})`,
    );
  }
  const entry = pickles[0] as (typeof pickles)[number];
  const prefix = entry.name.slice(0, -'data.pkl'.length);
  if (zip.get(`${prefix}constants.pkl`) && pickle.opaqueGlobals !== true) {
    throw new Error(
      `${file}: this is a TorchScript archive (torch.jit.save), not a torch.save file; readPth reads its parameters ` +
        `and buffers; for anything else, in Python, torch.save(torch.jit.load(f).state_dict(), 'weights.pth')`,
    );
  }
  const order = zip.get(`${prefix}byteorder`);
  const byteorder = order ? new TextDecoder().decode(zip.read(order).subarray(0, 64)).trim() : 'little';
  if (byteorder !== 'little' && byteorder !== 'big')
    throw new Error(`${file}: byteorder record says ${shown(byteorder)}, expected little or big`);

  return readTorchPickle(zip.read(entry), {
    ...pickle,
    file: `${file}:${entry.name}`,
    storageLittleEndian: byteorder === 'little',
    budget,
    loadStorage: ({ key }) => {
      const record = zip.get(`${prefix}data/${key}`);
      if (!record) throw new Error(`${file}: storage ${shown(key)} has no record ${shown(`${prefix}data/${key}`)} in the archive`);
      return zip.read(record);
    },
  });
}

/** Reads a torch.save file (or its bytes) and returns the whole saved object tree: checkpoints, nested dicts, numbers. */
export function readTorchFile(src: Source, options: ReadOptions = {}): TorchValue {
  const { bytes, file, budget } = loadSource(src, options);
  return decodeTorchFile(bytes, file, budget);
}

/** Keys under which training scripts commonly nest the model's state dict in a checkpoint. */
const STATE_DICT_KEYS = ['state_dict', 'model_state_dict', 'model', 'net', 'module', 'weights'];

/**
 * Reads a PyTorch state dict (name → row-major NdArray) from a .pth/.pt file or its bytes. A
 * checkpoint dict holding the state dict under `state_dict`, `model_state_dict`, `model`, ... is
 * accepted too; use readTorchFile to get the rest of a checkpoint.
 */
export function readPth(src: Source, options: ReadOptions = {}): Record<string, NdArray> {
  const { bytes, file, budget } = loadSource(src, options);
  let root: TorchValue;
  try {
    root = decodeTorchFile(bytes, file, budget);
  } catch (refused) {
    // A checkpoint may hold objects of other classes beside the state dict (torchvision's reference
    // scripts save an argparse.Namespace), and a TorchScript archive is a tree of scripted modules:
    // read them as inert data, and keep the refusal unless a state dict turns up.
    const message = refused instanceof Error ? refused.message : '';
    const scripted = message.startsWith(`${file}: this is a TorchScript archive`);
    if (!scripted && !message.includes('refusing to load global')) throw refused;
    const inert = decodeTorchFile(bytes, file, new ReadBudget(file, options.limits), { opaqueGlobals: true });
    const found = isDict(inert) ? (scripted ? scriptedStateDict(inert) : (stateDictIn(inert) ?? pickledModuleIn(inert, file))) : undefined;
    if (!found) throw refused;
    return found;
  }
  if (!isDict(root)) throw new Error(`${file}: holds ${kind(root)}, expected a state dict (a dict of tensors)`);
  const found = stateDictIn(root);
  if (found) return found;
  const bad = nonTensorKey(root) ?? '';
  throw new Error(
    `${file}: is not a state dict: entry ${shownJson(bad)} is ${kind(root[bad])}, not a tensor, and none of ` +
      `${STATE_DICT_KEYS.join(', ')} holds a dict of tensors (top-level keys: ${Object.keys(root)
        .slice(0, 10)
        .map((k) => shown(k))
        .join(', ')}); ` +
      'use readTorchFile to read the whole object',
  );
}

/** A POSIX tar archive: "ustar" at byte 257 of its first header. */
function isTar(bytes: Uint8Array): boolean {
  return bytes.length >= 262 && new TextDecoder('latin1').decode(bytes.subarray(257, 262)) === 'ustar';
}

/** The dict itself when it holds only tensors, else the first of STATE_DICT_KEYS that does. */
function stateDictIn(root: TorchDict): Record<string, NdArray> | undefined {
  if (nonTensorKey(root) === undefined) return root as Record<string, NdArray>;
  for (const key of STATE_DICT_KEYS) {
    const inner = Object.prototype.hasOwnProperty.call(root, key) ? root[key] : undefined;
    if (isDict(inner) && nonTensorKey(inner) === undefined) return inner as Record<string, NdArray>;
  }
  return undefined;
}

/**
 * The state dict of a whole module pickled by `torch.save(model)` (or under one of STATE_DICT_KEYS of a checkpoint),
 * read with opaqueGlobals: nothing of its classes runs; each module's `_parameters`, its `_buffers` but those in
 * `_non_persistent_buffers_set`, then its `_modules`, named and ordered as `model.state_dict()` names them.
 */
function pickledModuleIn(root: TorchDict, file: string): Record<string, NdArray> | undefined {
  const holder = isModuleObject(root)
    ? root
    : STATE_DICT_KEYS.map((k) => (Object.prototype.hasOwnProperty.call(root, k) ? root[k] : undefined)).find(isModuleObject);
  if (holder === undefined) return undefined;
  const out: Record<string, NdArray> = {};
  const path = new Set<TorchDict>(); // the modules being walked: a module among its own submodules is a cycle
  let visits = 0; // a module shared by several parents is walked under each name, as state_dict() does, within a bound
  const walk = (module: TorchDict, prefix: string): void => {
    if (path.has(module)) throw new Error(`${file}: the pickled module contains itself at '${prefix.slice(0, -1)}'`);
    if (++visits > MAX_MODULE_VISITS || path.size >= 100)
      throw new Error(`${file}: the pickled module tree is over ${path.size >= 100 ? '100 deep' : `${MAX_MODULE_VISITS} modules`}`);
    path.add(module);
    const state = module.__state__ as TorchDict;
    for (const [name, p] of Object.entries(state._parameters as TorchDict)) if (isNdArray(p)) setOwn(out, prefix + name, p);
    const skipped = nonPersistentBuffers(state._non_persistent_buffers_set);
    for (const [name, b] of Object.entries(state._buffers as TorchDict))
      if (isNdArray(b) && !skipped.has(name)) setOwn(out, prefix + name, b);
    for (const [name, child] of Object.entries(state._modules as TorchDict)) if (isModuleObject(child)) walk(child, `${prefix}${name}.`);
    path.delete(module);
  };
  walk(holder, '');
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Module visits a pickled module tree may take (torchvision's largest models have a few thousand modules). */
const MAX_MODULE_VISITS = 100_000;

/** A torch.nn.Module read as inert data: its state holds the `_parameters`, `_buffers` and `_modules` dicts. */
function isModuleObject(v: TorchValue | undefined): v is TorchDict {
  if (!isDict(v) || typeof v.__class__ !== 'string') return false;
  const state = v.__state__;
  return isDict(state) && isDict(state._parameters) && isDict(state._buffers) && isDict(state._modules);
}

/** The names in a module's `_non_persistent_buffers_set` (a Python set, read as inert `set(list)`). */
function nonPersistentBuffers(v: TorchValue | undefined): Set<string> {
  const args = isDict(v) && Array.isArray(v.__args__) ? v.__args__[0] : undefined;
  return new Set(Array.isArray(args) ? args.filter((x): x is string => typeof x === 'string') : []);
}

/**
 * The parameters and buffers of a TorchScript module read with opaqueGlobals, named as its state_dict
 * names them: each scripted module (`__torch__.` class) holds its tensors and submodules as attributes.
 */
function scriptedStateDict(root: TorchDict): Record<string, NdArray> | undefined {
  const out: Record<string, NdArray> = {};
  const walk = (module: TorchDict, prefix: string, depth: number): void => {
    const state = module.__state__;
    if (depth > 100 || !isDict(state)) return;
    for (const [name, value] of Object.entries(state)) {
      if (isNdArray(value)) setOwn(out, prefix + name, value);
      else if (isScripted(value)) walk(value, `${prefix}${name}.`, depth + 1);
    }
  };
  if (!isScripted(root)) return undefined;
  walk(root, '', 0);
  return Object.keys(out).length > 0 ? out : undefined;
}

function isScripted(v: TorchValue | undefined): v is TorchDict {
  return isDict(v) && typeof v.__class__ === 'string' && v.__class__.startsWith('__torch__.');
}

function isDict(v: TorchValue | undefined): v is TorchDict {
  return v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array) && !isNdArray(v);
}

function nonTensorKey(d: TorchDict): string | undefined {
  return Object.keys(d).find((k) => !isNdArray(d[k]));
}

function kind(v: TorchValue | undefined): string {
  if (isNdArray(v)) return 'a tensor';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Uint8Array) return 'bytes';
  if (isDict(v)) return 'a dict';
  return v === null ? 'None' : `a ${typeof v}`;
}
