import type { RasterImage8 } from './types';
import { checkImage, checkSize } from './types';
import { roundHalfEven } from './rounding';

/**
 * Returns the central width x height region (HWC, channels unchanged) as torchvision's CenterCrop:
 * offsets round((H - h) / 2) with Python's ties-to-even, and zero padding first when the crop is
 * larger than the image.
 */
export function centerCrop(image: RasterImage8, width: number, height: number = width): RasterImage8 {
  checkImage(image, 'centerCrop');
  checkSize(width, height, 'centerCrop');
  const { width: W, height: H, channels: C } = image;
  // with padding, torchvision puts the odd pixel on the right/bottom: left = (w - W) // 2
  const left = width > W ? -Math.floor((width - W) / 2) : roundHalfEven((W - width) / 2);
  const top = height > H ? -Math.floor((height - H) / 2) : roundHalfEven((H - height) / 2);
  const out = new Uint8Array(width * height * C);
  for (let y = 0; y < height; y++) {
    const sy = y + top;
    if (sy < 0 || sy >= H) continue;
    const x0 = Math.max(0, -left);
    const x1 = Math.min(width, W - left);
    if (x1 <= x0) continue;
    out.set(image.data.subarray((sy * W + x0 + left) * C, (sy * W + x1 + left) * C), (y * width + x0) * C);
  }
  return { width, height, channels: C, bitDepth: 8, data: out };
}
