/** What a walk over a JPEG's marker segments finds, without decoding any pixels. */
export interface JpegStructure {
  /** The SOF marker: 0xc0 baseline, 0xc1 extended, 0xc2 progressive, ... */
  sof: number;
  width: number;
  height: number;
  components: number;
  /** Bits per sample of the frame (8 for nearly every JPEG; 12 in some medical and camera files). */
  precision: number;
  /** The frame's component ids in order (1, 2, 3 for YCbCr; 'R', 'G', 'B' for a stored RGB picture). */
  componentIds: number[];
  /** Each component's sampling factors (horizontal, vertical: 1–4), in frame order. */
  sampling: { h: number; v: number }[];
  /** Whether a JFIF APP0 segment came first (it makes a 3-component file YCbCr). */
  jfif: boolean;
  /** The transform code of an Adobe APP14 segment (0: none, RGB or CMYK; 1: YCbCr; 2: YCCK), if there is one. */
  adobeTransform?: number;
  /** The TIFF data of the first APP1 "Exif" segment (after the "Exif\0\0" header), if any. */
  exif?: Uint8Array;
}

const EXIF_HEADER = [0x45, 0x78, 0x69, 0x66, 0x00, 0x00]; // "Exif\0\0"
const JFIF_HEADER = [0x4a, 0x46, 0x49, 0x46, 0x00]; // "JFIF\0"
const ADOBE_HEADER = [0x41, 0x64, 0x6f, 0x62, 0x65]; // "Adobe"

/**
 * Walks the marker segments from SOI to EOI, skipping entropy-coded data, and returns the frame
 * header and the Exif block. A file that ends before EOI is truncated: jpeg-js would silently
 * decode the missing part as gray, so this is where that becomes an error naming the file.
 */
export function readJpegStructure(bytes: Uint8Array, name: string): JpegStructure {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) throw new Error(`${name}: not a JPEG file (no SOI marker)`);
  const truncated = (what: string): Error =>
    new Error(`${name}: truncated JPEG (file ends at byte ${bytes.length} ${what}, before the EOI marker)`);
  let at = 2;
  let frame: Omit<JpegStructure, 'jfif' | 'adobeTransform' | 'exif'> | undefined;
  let exif: Uint8Array | undefined;
  let jfif = false;
  let adobeTransform: number | undefined;
  for (;;) {
    if (at >= bytes.length) throw truncated('between segments');
    if (bytes[at] !== 0xff)
      throw new Error(`${name}: corrupt JPEG (expected a marker at byte ${at}, found 0x${(bytes[at] ?? 0).toString(16)})`);
    while (bytes[at] === 0xff) at++; // fill bytes
    if (at >= bytes.length) throw truncated('in a marker');
    const marker = bytes[at++] ?? 0;
    if (marker === 0xd9) break; // EOI
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) continue; // no length field
    if (at + 2 > bytes.length) throw truncated(`in the length of marker 0x${marker.toString(16)}`);
    const len = ((bytes[at] ?? 0) << 8) | (bytes[at + 1] ?? 0);
    const end = at + len;
    if (len < 2 || end > bytes.length) throw truncated(`inside segment 0x${marker.toString(16)} (${len} bytes at ${at})`);
    const seg = bytes.subarray(at + 2, end);
    if (marker === 0xe1 && !exif && EXIF_HEADER.every((b, i) => seg[i] === b)) {
      exif = seg.subarray(EXIF_HEADER.length);
    } else if (marker === 0xe0 && JFIF_HEADER.every((b, i) => seg[i] === b)) {
      jfif = true;
    } else if (marker === 0xee && seg.length >= 12 && ADOBE_HEADER.every((b, i) => seg[i] === b)) {
      adobeTransform = seg[11];
    } else if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      frame = {
        sof: marker,
        height: ((seg[1] ?? 0) << 8) | (seg[2] ?? 0),
        width: ((seg[3] ?? 0) << 8) | (seg[4] ?? 0),
        components: seg[5] ?? 0,
        precision: seg[0] ?? 0,
        componentIds: Array.from({ length: seg[5] ?? 0 }, (_, i) => seg[6 + 3 * i] ?? 0),
        sampling: Array.from({ length: seg[5] ?? 0 }, (_, i) => ({ h: (seg[7 + 3 * i] ?? 0) >> 4, v: (seg[7 + 3 * i] ?? 0) & 15 })),
      };
    }
    at = end;
    if (marker === 0xda) at = skipEntropyData(bytes, at, truncated);
  }
  if (!frame) throw new Error(`${name}: corrupt JPEG (no frame header)`);
  const found: JpegStructure = { ...frame, jfif };
  if (adobeTransform !== undefined) found.adobeTransform = adobeTransform;
  if (exif) found.exif = exif;
  return found;
}

/** Returns the offset of the next marker after a scan's entropy-coded data (FF00 and RSTn are data). */
function skipEntropyData(bytes: Uint8Array, at: number, truncated: (what: string) => Error): number {
  for (let i = at; i + 1 < bytes.length; i++) {
    if (bytes[i] !== 0xff) continue;
    const next = bytes[i + 1] ?? 0;
    if (next === 0x00 || next === 0xff || (next >= 0xd0 && next <= 0xd7)) continue;
    return i;
  }
  throw truncated('inside the compressed scan data');
}
