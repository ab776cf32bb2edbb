import type { PreprocessOptions } from './preprocess';
import { roundHalfEven } from './rounding';

/**
 * Where preprocessImageNet's output lies in the original picture: input pixel edge x is picture edge
 * (x + left) · scaleX, y is (y + top) · scaleY. `width` × `height` is the output's size.
 */
export interface PictureFrame {
  width: number;
  height: number;
  left: number;
  top: number;
  scaleX: number;
  scaleY: number;
}

/** The resized size before the crop: torchvision's Resize(int) of the shorter side (long side truncated). */
function shorterSideSize(W: number, H: number, side: number): [number, number] {
  const short = Math.min(W, H);
  const long = Math.trunc((side * Math.max(W, H)) / short);
  return W <= H ? [side, long] : [long, side];
}

/**
 * Returns where preprocessImageNet(picture of pictureWidth × pictureHeight, options) takes its pixels from: the same
 * resize (shorter side, cover, stretch or none) and centre crop, as a PictureFrame (its steps mirror preprocessImageNet).
 */
export function preprocessFrame(pictureWidth: number, pictureHeight: number, options: PreprocessOptions = {}): PictureFrame {
  const W = pictureWidth;
  const H = pictureHeight;
  const boxed = options.height !== undefined && options.width !== undefined && options.height !== options.width;
  const height = options.height ?? options.size ?? 224;
  const width = options.width ?? options.size ?? 224;
  let rw = W;
  let rh = H;
  if (options.crop === false) {
    const side = options.resize ?? options.shorterSide;
    if (typeof side === 'number') [rw, rh] = shorterSideSize(W, H, side);
    return { width: rw, height: rh, left: 0, top: 0, scaleX: W / rw, scaleY: H / rh };
  }
  const ready = W === width && H === height;
  const resize = options.resize ?? (ready ? false : boxed ? 'cover' : (options.shorterSide ?? Math.round((width * 256) / 224)));
  if (resize === 'stretch') return { width, height, left: 0, top: 0, scaleX: W / width, scaleY: H / height };
  if (resize === 'cover') {
    const m = Math.min(height, width);
    const z = (options.shorterSide ?? Math.round((m * 256) / 224)) / m;
    const bw = Math.round(width * z);
    const bh = Math.round(height * z);
    [rw, rh] = bh * W >= bw * H ? [Math.trunc((bh * W) / H), bh] : [bw, Math.trunc((bw * H) / W)];
  } else if (resize !== false) [rw, rh] = shorterSideSize(W, H, resize);
  const left = width > rw ? -Math.floor((width - rw) / 2) : roundHalfEven((rw - width) / 2);
  const top = height > rh ? -Math.floor((height - rh) / 2) : roundHalfEven((rh - height) / 2);
  return { width, height, left, top, scaleX: W / rw, scaleY: H / rh };
}

/** A box [x1, y1, x2, y2] in model-input pixels mapped to the original picture's pixels through `frame`. */
export function boxToPicture(box: readonly number[], frame: PictureFrame): number[] {
  const [x1 = 0, y1 = 0, x2 = 0, y2 = 0] = box;
  return [
    (x1 + frame.left) * frame.scaleX,
    (y1 + frame.top) * frame.scaleY,
    (x2 + frame.left) * frame.scaleX,
    (y2 + frame.top) * frame.scaleY,
  ];
}
