import type { OptionSpec, ParsedOptions } from './args';
import { CliError, str } from './args';
import type { LoadedModel } from './model';

/** `--mean` and `--std`: the normalisation a model was trained with, when it is not the one the CLI assumes. */
export const NORMALIZATION_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  mean: {
    type: 'string',
    value: 'M[,M,M]',
    help: 'per-channel mean the pixels (in [0, 1]) are normalised with: one value for every channel or three (R,G,B)',
    default: "ImageNet's for RGB models (0.485,0.456,0.406), 0 for a grayscale ONNX model, the bundled model's own",
  },
  std: {
    type: 'string',
    value: 'S[,S,S]',
    help: 'per-channel standard deviation, as --mean (a model fed 0–255 pixels: --mean 0 --std 0.00392156862745098, i.e. 1/255)',
    default: "ImageNet's for RGB models (0.229,0.224,0.225), 1 for a grayscale ONNX model, the bundled model's own",
  },
};

/** The three channel values of `--name` (one value repeats), checked: finite numbers, positive for --std. */
function channelValues(command: string, o: ParsedOptions, name: 'mean' | 'std'): number[] | undefined {
  const raw = str(o, name);
  if (raw === undefined) return undefined;
  const parts = raw.split(',').map((s) => s.trim());
  const values = parts.map(Number);
  if ((parts.length !== 1 && parts.length !== 3) || parts.some((p) => p === '') || values.some((v) => !Number.isFinite(v)))
    throw new CliError(`${command}: --${name} takes one number or three (R,G,B) separated by commas, got '${raw}'`, 2);
  if (name === 'std' && values.some((v) => v <= 0)) throw new CliError(`${command}: --std values must be positive, got '${raw}'`, 2);
  return values.length === 1 ? [values[0]!, values[0]!, values[0]!] : values;
}

/** `--mean` and `--std` as given (three values each, or undefined), checked before any weights load. */
export interface GivenNormalization {
  command: string;
  mean: number[] | undefined;
  std: number[] | undefined;
}

/** Reads and checks `--mean` / `--std` (a bad value is a usage error before anything loads). */
export function normalizationOptions(command: string, o: ParsedOptions): GivenNormalization {
  return { command, mean: channelValues(command, o, 'mean'), std: channelValues(command, o, 'std') };
}

/**
 * The loaded model with `--mean` / `--std` in place of its default normalisation. A grayscale model is fed the luma
 * of the normalised channels, which is the normalised luma only when the three channels share one mean and std.
 */
export function withNormalization(loaded: LoadedModel, given: GivenNormalization): LoadedModel {
  const { command, mean, std } = given;
  if (mean === undefined && std === undefined) return loaded;
  const next = { ...loaded, mean: mean ?? loaded.mean, std: std ?? loaded.std };
  const uniform = (v: readonly number[]): boolean => v.every((x) => x === v[0]);
  if (loaded.grayscale === true && (!uniform(next.mean) || !uniform(next.std)))
    throw new CliError(
      `${command}: ${loaded.name} takes grayscale pictures (their luma): give --mean and --std one value each, got mean ${next.mean.join(',')} and std ${next.std.join(',')}`,
      2,
    );
  return next;
}
