/**
 * How the CLI and the web page feed an ONNX model a picture (kept free of Node's modules, so that the page reads a
 * graph as the CLI does): the input shape for its declared input and --size, and the picture's geometry.
 */
import type { InputSize } from '@gradlens/nn';
import type { OnnxModel } from '@gradlens/onnx';
import { CliError } from './args';
import { showSize } from './size-option';

/** The geometry of the pictures an ONNX model is fed (imageToInput's size, height, width, crop, shorterSide). */
export interface OnnxGeometry {
  size: number;
  height?: number;
  width?: number;
  crop?: false;
  shorterSide?: number;
}

/** The input side the CLI feeds when the model's height and width are dynamic and no --size is given. */
const DYNAMIC_SIDE = 224;

/**
 * The input shape [1, 3, H, W] the CLI feeds the model, from its declared input and `--size` (a side N or [h, w]):
 * the model's own H and W when fixed (square or not), else `size` (N × N, or h × w) or 224. Refused in one line:
 * inputs that are not a 3-channel NCHW picture (grayscale, NHWC), a `--size` other than a fixed input's size.
 */
export function cliInputShape(file: string, declared: readonly (number | string)[], size: InputSize | undefined): number[] {
  const shown = `[${declared.join(', ')}]`;
  const fixed = (d: number | string | undefined): number | undefined => (typeof d === 'number' ? d : undefined);
  if (declared.length !== 4)
    throw new CliError(
      `${file}: the model's input is ${shown}; the CLI feeds pictures as [1, 3, H, W] (use loadOnnx from @gradlens/onnx for other inputs)`,
      2,
    );
  const [n, c, h, w] = declared.map(fixed);
  if (c !== undefined && c !== 3) {
    const nhwc = fixed(declared[3]) === 3 ? ' (channels last: export with channels first, e.g. tf2onnx --inputs-as-nchw)' : '';
    throw new CliError(`${file}: the model's input ${shown} has ${c} channels${nhwc}; the CLI feeds RGB pictures as [1, 3, H, W]`, 2);
  }
  if (n !== undefined && n !== 1)
    throw new CliError(`${file}: the model's input ${shown} has a fixed batch of ${n}; the CLI feeds one picture at a time`, 2);
  const [sh, sw] = size === undefined ? [undefined, undefined] : typeof size === 'number' ? [size, size] : size;
  // one fixed side and one dynamic: the fixed one for both unless --size says otherwise (as before: square)
  const H = h ?? sh ?? w ?? DYNAMIC_SIDE;
  const W = w ?? sw ?? h ?? DYNAMIC_SIDE;
  if (size !== undefined && ((h !== undefined && h !== sh) || (w !== undefined && w !== sw))) {
    const what = h !== undefined && w !== undefined && h !== w ? `input size ${h}x${w}` : `input side ${h ?? w}`;
    throw new CliError(`${file}: --size ${showSize(size)} differs from the model's fixed ${what} (${shown})`, 2);
  }
  return [1, 3, H, W];
}

/**
 * How pictures are fed an ONNX model (LoadedModel's size, height, width, crop, shorterSide): a classifier at its
 * input size (square: the 256/224 rule; H×W: resized to cover round(H·256/224) × round(W·256/224), aspect kept, and
 * centre-cropped). A detection graph keeps the picture's scale: with dynamic H and W the whole picture, its shorter
 * side to --size (default 224), as torchvision's detection models take any [3, H, W]; with a fixed input, or
 * --size HxW, the picture resized to cover it (aspect kept) and centre-cropped, no 256/224 zoom.
 */
export function onnxGeometry(model: OnnxModel, size: InputSize | undefined, detecting: boolean): OnnxGeometry {
  const h = model.inputShape[2]!;
  const w = model.inputShape[3]!;
  const box = h === w ? {} : { height: h, width: w };
  if (!detecting) return { size: Math.min(h, w), ...box };
  const declared = model.declaredInputShape;
  const dynamic = typeof declared[declared.length - 1] !== 'number' && typeof declared[declared.length - 2] !== 'number';
  if (dynamic && (size === undefined || typeof size === 'number')) return { size: h, shorterSide: h, crop: false };
  return { size: Math.min(h, w), shorterSide: Math.min(h, w), ...box };
}
