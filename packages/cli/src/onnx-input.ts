/**
 * How the CLI and the web page feed an ONNX model a picture (kept free of Node's modules, so that the page reads a
 * graph as the CLI does): the input shape for its declared input and --size, and the picture's geometry.
 */
import type { InputSize } from '@gradlens/nn';
import type { OnnxModel } from '@gradlens/onnx';
import { pictureLayout } from '@gradlens/onnx';
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
 * The input shape the graph is fed, in its own layout, from its declared input and `--size` (a side N or [h, w]): a
 * picture of 1 or 3 channels, channels first or last (pictureLayout: the model is loaded with pictureInput, so the CLI
 * feeds RGB pictures whatever the layout), at the model's own H and W when fixed (square or not), else `size` (N × N,
 * or h × w) or 224. Refused in one line: inputs that are not such a picture, a fixed batch other than 1, a `--size`
 * other than a fixed input's size.
 */
export function cliInputShape(file: string, declared: readonly (number | string)[], size: InputSize | undefined): number[] {
  const shown = `[${declared.join(', ')}]`;
  const fixed = (d: number | string | undefined): number | undefined => (typeof d === 'number' ? d : undefined);
  if (declared.length !== 4)
    throw new CliError(
      `${file}: the model's input is ${shown}; the CLI feeds pictures as [1, C, H, W] or [1, H, W, C] (use loadOnnx from @gradlens/onnx for other inputs)`,
      2,
    );
  const layout = pictureLayout(declared);
  if (layout === null)
    throw new CliError(
      `${file}: the model's input ${shown} is not a picture of 1 or 3 channels, first or last; the CLI feeds grayscale or RGB pictures`,
      2,
    );
  const [n, h, w] = (layout.channelsLast ? [declared[0], declared[1], declared[2]] : [declared[0], declared[2], declared[3]]).map(fixed);
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
  return layout.channelsLast ? [1, H, W, layout.channels] : [1, layout.channels, H, W];
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
  // the graph's declared height and width, wherever its layout keeps them
  const declared = model.declaredInputShape;
  const last = declared.length - 1;
  const [dh, dw] =
    model.pictureLayout?.channelsLast === true ? [declared[last - 2], declared[last - 1]] : [declared[last - 1], declared[last]];
  const dynamic = typeof dh !== 'number' && typeof dw !== 'number';
  if (dynamic && (size === undefined || typeof size === 'number')) return { size: h, shorterSide: h, crop: false };
  return { size: Math.min(h, w), shorterSide: Math.min(h, w), ...box };
}
