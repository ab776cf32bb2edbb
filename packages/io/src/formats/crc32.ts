import { zlib } from '../platform/zlib';

/** CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as zip and gzip use it. */
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** Returns the CRC-32 of `bytes` as an unsigned 32-bit number; pass a previous result as `crc` to continue it. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  // The platform's native CRC (Node >= 20.15's zlib.crc32) is many times faster on large weight files.
  const native = bytes.length > 4096 ? zlib().crc32 : undefined;
  if (native) return native(bytes, crc);
  return crc32Table(bytes, crc);
}

/** The portable table-driven CRC-32 (also the reference the tests compare the native one to). */
export function crc32Table(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = (TABLE[(c ^ (bytes[i] ?? 0)) & 0xff] ?? 0) ^ (c >>> 8);
  return ~c >>> 0;
}
