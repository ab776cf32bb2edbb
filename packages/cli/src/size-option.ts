import { getReadLimits } from '@gradlens/io';
import type { InputSize } from '@gradlens/nn';
import type { ParsedOptions } from './args';
import { CliError, str } from './args';

/**
 * `--size N` (a side; for the whole-picture models, the shorter side) or `--size HxW` (an exact height × width, e.g.
 * 320x480; `×` also reads): a number, an [h, w] pair (a square HxW is the side N), or undefined when not given.
 */
export function sizeOption(command: string, o: ParsedOptions): InputSize | undefined {
  const v = str(o, 'size');
  if (v === undefined) return undefined;
  const size = parseSize(v);
  if (size === null) throw new CliError(`${command}: --size must be a side N or HxW (e.g. 224 or 320x480), integers ≥ 1, got '${v}'`, 2);
  const over = sizeOverLimit(size);
  if (over !== null) throw new CliError(`${command}: --size ${over}`, 2);
  return size;
}

/**
 * Why an input size is refused (it asks for more pixels than io's maxImagePixels, the limit pictures are read under:
 * the input and every map at that size would not fit), or null.
 */
export function sizeOverLimit(size: InputSize): string | null {
  const [h, w] = typeof size === 'number' ? [size, size] : size;
  const { maxImagePixels } = getReadLimits();
  return h * w > maxImagePixels
    ? `${showSize(size)} asks for ${h * w} pixels, over the limit of ${maxImagePixels} (io's setReadLimits)`
    : null;
}

/** `224` → 224, `320x480` (or `320×480`) → [320, 480], a square `64x64` → 64; null when it is neither. */
export function parseSize(text: string): InputSize | null {
  const m = /^\s*(\d+)\s*(?:[x×X]\s*(\d+)\s*)?$/.exec(text);
  if (!m) return null;
  const h = Number(m[1]);
  const w = m[2] === undefined ? h : Number(m[2]);
  if (!(h >= 1) || !(w >= 1)) return null;
  return h === w ? h : [h, w];
}

/** The --size value as written back for messages: `224` or `320x480`. */
export function showSize(size: InputSize): string {
  return typeof size === 'number' ? String(size) : `${size[0]}x${size[1]}`;
}
