/**
 * Ultralytics' letterbox (LetterBox with auto=False, as its ONNX predictions use): the picture scaled to fit the
 * model's input keeping its aspect, centred on grey (114) padding; and the way back for boxes (scale_boxes).
 */
import { toRgb } from './convert';
import { resizeImage } from './resize';
import { roundHalfEven } from './rounding';
import type { RasterImage, RgbImage } from './types';
import { checkImage, checkSize } from './types';

/** Where the picture lies in the letterboxed input: its scale, the padding left and above, and its own size. */
export interface LetterboxGeometry {
  /** min(height / picture height, width / picture width). */
  gain: number;
  left: number;
  top: number;
  /** The scaled picture's size inside the input. */
  innerWidth: number;
  innerHeight: number;
  /** The original picture's size. */
  width: number;
  height: number;
  /** The letterboxed input's size. */
  inputWidth: number;
  inputHeight: number;
}

/** Ultralytics' padding grey (114, 114, 114). */
export const LETTERBOX_GREY = 114;

/**
 * Returns the picture letterboxed to width × height (RGB, HWC) and its geometry, as Ultralytics' LetterBox: scale
 * r = min(height / h, width / w) (enlarging too), size round(w r) × round(h r) (Python's rounding), padding split
 * round(d / 2 ∓ 0.1) on each side. The resize is PIL's bilinear (resizeImage): equal to cv2's INTER_LINEAR that
 * Ultralytics uses when enlarging, not when shrinking (PIL antialiases, cv2 samples 2×2 pixels).
 */
export function letterbox(image: RasterImage, width: number, height: number = width): { picture: RgbImage; geometry: LetterboxGeometry } {
  checkImage(image, 'letterbox');
  checkSize(width, height, 'letterbox');
  const rgb = toRgb(image);
  const { width: w, height: h } = rgb;
  const gain = Math.min(height / h, width / w);
  const innerWidth = Math.max(1, roundHalfEven(w * gain));
  const innerHeight = Math.max(1, roundHalfEven(h * gain));
  // + 0: no -0 when there is no padding
  const left = roundHalfEven((width - innerWidth) / 2 - 0.1) + 0;
  const top = roundHalfEven((height - innerHeight) / 2 - 0.1) + 0;
  const inner = innerWidth === w && innerHeight === h ? rgb : resizeImage(rgb, innerWidth, innerHeight, 'bilinear');
  const data = new Uint8Array(width * height * 3).fill(LETTERBOX_GREY);
  for (let y = 0; y < innerHeight; y++)
    data.set(inner.data.subarray(y * innerWidth * 3, (y + 1) * innerWidth * 3), ((y + top) * width + left) * 3);
  return {
    picture: { width, height, channels: 3, bitDepth: 8, data },
    geometry: { gain, left, top, innerWidth, innerHeight, width: w, height: h, inputWidth: width, inputHeight: height },
  };
}

/**
 * A box [x1, y1, x2, y2] in the letterboxed input's pixels brought back to the picture's, as Ultralytics'
 * scale_boxes: the padding taken off (its own rounding, round((W - w gain) / 2 - 0.1), which may differ by one from
 * the letterbox's), divided by the gain, clipped to the picture.
 */
export function unletterboxBox(box: readonly number[], g: LetterboxGeometry): [number, number, number, number] {
  const cx = (v: number): number => Math.min(Math.max(v, 0), g.width);
  const cy = (v: number): number => Math.min(Math.max(v, 0), g.height);
  const padX = roundHalfEven((g.inputWidth - g.width * g.gain) / 2 - 0.1) + 0;
  const padY = roundHalfEven((g.inputHeight - g.height * g.gain) / 2 - 0.1) + 0;
  const [x1, y1, x2, y2] = box as [number, number, number, number];
  return [cx((x1 - padX) / g.gain), cy((y1 - padY) / g.gain), cx((x2 - padX) / g.gain), cy((y2 - padY) / g.gain)];
}
