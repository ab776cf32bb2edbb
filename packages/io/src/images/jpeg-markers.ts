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
  const tables = new TableCheck(name);
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
    if (len < 2)
      throw new Error(`${name}: corrupt JPEG (segment 0x${marker.toString(16)} at byte ${at} declares length ${len}, less than 2)`);
    if (end > bytes.length) throw truncated(`inside segment 0x${marker.toString(16)} (${len} bytes at ${at})`);
    const seg = bytes.subarray(at + 2, end);
    if (marker === 0xe1 && !exif && EXIF_HEADER.every((b, i) => seg[i] === b)) {
      exif = seg.subarray(EXIF_HEADER.length);
    } else if (marker === 0xe0 && JFIF_HEADER.every((b, i) => seg[i] === b)) {
      jfif = true;
    } else if (marker === 0xee && seg.length >= 12 && ADOBE_HEADER.every((b, i) => seg[i] === b)) {
      adobeTransform = seg[11];
    } else if (marker === 0xdb) {
      tables.quantization(seg);
    } else if (marker === 0xc4) {
      tables.huffman(seg);
    } else if (marker === 0xda) {
      if (!frame) throw new Error(`${name}: corrupt JPEG (a scan before the frame header)`);
      tables.scan(seg, frame);
    } else if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc8 && marker !== 0xcc) {
      // one frame per file (hierarchical JPEGs are not read): a second would decode with the first one's checks
      if (frame) throw new Error(`${name}: corrupt JPEG (a second frame header, marker 0x${marker.toString(16)})`);
      if (seg.length < 6 || seg.length !== 6 + 3 * (seg[5] ?? 0))
        throw new Error(`${name}: corrupt JPEG (a frame header of ${seg.length} bytes for ${seg[5] ?? 0} components)`);
      tables.frameHeader(seg);
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
  tables.complete(frame);
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

/** The frame's fields the scan checks read. */
type Frame = Pick<JpegStructure, 'sof' | 'componentIds'>;

/**
 * The table and scan bookkeeping jpeg-js does not check (it would throw a TypeError on a missing table, or
 * decode a component no scan codes as flat gray): tables well-formed, every table a scan or component uses
 * defined, every component coded by some scan.
 */
class TableCheck {
  private readonly quant = new Set<number>();
  private readonly huff = new Set<string>();
  private readonly scanned = new Set<number>();
  /** The quantization table id of each frame component, by component id. */
  private readonly quantOf = new Map<number, number>();

  constructor(private readonly name: string) {}

  private fail(what: string): never {
    throw new Error(`${this.name}: corrupt JPEG (${what})`);
  }

  /** A DQT segment: tables of 64 entries of 8 or 16 bits, ids 0–3. */
  quantization(seg: Uint8Array): void {
    for (let at = 0; at < seg.length;) {
      const pq = (seg[at] ?? 0) >> 4;
      const tq = (seg[at] ?? 0) & 15;
      if (pq > 1 || tq > 3) this.fail(`quantization table with precision ${pq} and id ${tq}; they must be 0–1 and 0–3`);
      at += 1 + 64 * (pq + 1);
      if (at > seg.length) this.fail(`quantization table ${tq} runs past its segment`);
      this.quant.add(tq);
    }
  }

  /** A DHT segment: tables of class 0 (DC) or 1 (AC), ids 0–3, 16 counts then the symbols. */
  huffman(seg: Uint8Array): void {
    for (let at = 0; at < seg.length;) {
      const tc = (seg[at] ?? 0) >> 4;
      const th = (seg[at] ?? 0) & 15;
      if (tc > 1 || th > 3) this.fail(`Huffman table of class ${tc} and id ${th}; they must be 0–1 and 0–3`);
      if (at + 17 > seg.length) this.fail(`Huffman table ${th} runs past its segment`);
      let symbols = 0;
      for (let i = 1; i <= 16; i++) symbols += seg[at + i] ?? 0;
      at += 17 + symbols;
      if (at > seg.length) this.fail(`Huffman table ${th} runs past its segment`);
      this.huff.add(`${tc}:${th}`);
    }
  }

  /** An SOS header: 1–4 of the frame's components, each with defined tables for what the scan codes. */
  scan(seg: Uint8Array, frame: Frame): void {
    const ns = seg[0] ?? 0;
    if (ns < 1 || ns > 4 || seg.length !== 4 + 2 * ns)
      this.fail(`a scan header of ${seg.length} bytes for ${ns} components; scans code 1 to 4 components`);
    const ss = seg[1 + 2 * ns] ?? 0;
    const ah = (seg[3 + 2 * ns] ?? 0) >> 4;
    const progressive = frame.sof === 0xc2 || frame.sof === 0xc6 || frame.sof === 0xca || frame.sof === 0xce;
    // a progressive scan codes DC (first pass: DC tables) or AC bands (AC tables); a sequential scan needs both
    const needsDc = !progressive || (ss === 0 && ah === 0);
    const needsAc = !progressive || ss > 0;
    for (let k = 0; k < ns; k++) {
      const id = seg[1 + 2 * k] ?? 0;
      if (!frame.componentIds.includes(id)) this.fail(`a scan codes component ${id}, which the frame does not have`);
      const tq = this.quantOf.get(id) ?? 0;
      if (!this.quant.has(tq)) this.fail(`component ${id} uses quantization table ${tq}, which is not defined`);
      const td = (seg[2 + 2 * k] ?? 0) >> 4;
      const ta = (seg[2 + 2 * k] ?? 0) & 15;
      if (needsDc && !this.huff.has(`0:${td}`)) this.fail(`a scan uses DC Huffman table ${td}, which is not defined`);
      if (needsAc && !this.huff.has(`1:${ta}`)) this.fail(`a scan uses AC Huffman table ${ta}, which is not defined`);
      this.scanned.add(id);
    }
  }

  /** A frame header (SOFn): the quantization table id of each component. */
  frameHeader(seg: Uint8Array): void {
    for (let i = 0; i < (seg[5] ?? 0); i++) this.quantOf.set(seg[6 + 3 * i] ?? 0, seg[8 + 3 * i] ?? 0);
  }

  /** After EOI: every component of the frame was coded by some scan. */
  complete(frame: Frame): void {
    for (const id of frame.componentIds) if (!this.scanned.has(id)) this.fail(`component ${id} is coded by no scan`);
  }
}
