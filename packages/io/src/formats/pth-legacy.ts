import type { ReadBudget } from './budget';
import { DTYPE_SIZE } from './convert';
import { readTorchPickleAt, type StorageRequest, type TorchPickleOptions, type TorchValue } from './pickle';
import { shown } from './record';

/**
 * PyTorch's legacy serialization (torch < 1.6, and torch.save(..., _use_new_zipfile_serialization=False)
 * since): five things back to back in one stream. A pickled magic number, the pickled protocol
 * version (1001), a pickled sys_info dict, the pickled object (its storages as persistent ids), the
 * pickled list of storage keys, then each storage in that order: an int64 element count and the
 * raw little-endian bytes.
 */

const MAGIC = 0x1950a86a20f9469cfc6cn;
const PROTOCOL_VERSION = 1001;

/** Returns true when `bytes` start with the legacy format's pickled magic number (any pickle protocol). */
export function isLegacyTorch(bytes: Uint8Array): boolean {
  if (bytes[0] !== 0x80) return false;
  try {
    const { value } = readTorchPickleAt(bytes.subarray(0, 64));
    return value === MAGIC;
  } catch {
    return false; // not a pickle of the magic number: some other stream
  }
}

/**
 * Decodes a legacy torch.save stream into the saved object tree. Storages are views of `bytes`
 * (zero-copy where aligned); each one's element count is checked against the pickle's before use.
 */
export function decodeLegacyTorchFile(
  bytes: Uint8Array,
  file: string,
  budget: ReadBudget,
  pickle: Pick<TorchPickleOptions, 'opaqueGlobals'> = {},
): TorchValue {
  const at = (start: number, what: string): { value: TorchValue; end: number } =>
    readTorchPickleAt(bytes, { start, file: `${file}: legacy format, ${what}`, budget });
  const magic = at(0, 'magic number');
  if (magic.value !== MAGIC) throw new Error(`${file}: not a legacy torch.save file (its first pickle is not the magic number)`);
  const version = at(magic.end, 'protocol version');
  if (version.value !== PROTOCOL_VERSION)
    throw new Error(
      `${file}: legacy format protocol version ${shown(String(version.value))} is not supported (expected ${PROTOCOL_VERSION})`,
    );
  const sysInfo = at(version.end, 'sys_info');
  const info = sysInfo.value;
  if (info === null || typeof info !== 'object' || Array.isArray(info) || info instanceof Uint8Array)
    throw new Error(`${file}: legacy format sys_info is not a dict`);
  // torch writes storages little-endian whatever the machine; a big-endian writer's older files are not readable.
  if ((info as Record<string, TorchValue>).little_endian === false)
    throw new Error(`${file}: legacy file written on a big-endian machine, which is not supported; re-save it with a newer torch`);

  const records = new Map<string, Uint8Array>();
  const layOut = (requests: readonly StorageRequest[], end: number): void => {
    const keys = readTorchPickleAt(bytes, { start: end, file: `${file}: legacy format, storage keys`, budget });
    const list = keys.value;
    if (!Array.isArray(list) || list.some((k) => typeof k !== 'string'))
      throw new Error(`${file}: legacy format storage key list is not a list of strings`);
    const byKey = new Map(requests.map((r) => [r.key, r]));
    let p = keys.end;
    for (const key of list as string[]) {
      const request = byKey.get(key);
      if (!request) throw new Error(`${file}: legacy format storage key ${shown(key)} is not used by the pickle`);
      if (records.has(key)) throw new Error(`${file}: legacy format storage key ${shown(key)} is listed twice`);
      if (p + 8 > bytes.length)
        throw new Error(`${file}: storage ${shown(key)} should start at byte ${p}, the file ends at ${bytes.length} (truncated?)`);
      const count = new DataView(bytes.buffer, bytes.byteOffset + p, 8).getBigInt64(0, true);
      if (count !== BigInt(request.numel))
        throw new Error(`${file}: storage ${shown(key)} holds ${count} elements, the pickle says ${request.numel} (corrupted file)`);
      const n = request.numel * DTYPE_SIZE[request.dtype];
      if (p + 8 + n > bytes.length)
        throw new Error(
          `${file}: storage ${shown(key)} (${n} bytes at byte ${p + 8}) runs past the end of the file at ${bytes.length} (truncated?)`,
        );
      records.set(key, bytes.subarray(p + 8, p + 8 + n));
      p += 8 + n;
    }
  };
  return readTorchPickleAt(bytes, {
    ...pickle,
    start: sysInfo.end,
    file: `${file}: legacy format, object`,
    budget,
    beforeStorages: layOut,
    loadStorage: ({ key }) => {
      const record = records.get(key);
      if (!record) throw new Error(`${file}: storage ${shown(key)} is not in the legacy format's storage key list`);
      return record;
    },
  }).value;
}
