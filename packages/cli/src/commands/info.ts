import { formatLayers, layers } from '@gradlens/nn';
import type { OptionSpec } from '../args';
import { CliError, formatHelp, parseArgs } from '../args';
import { sizeOption } from '../size-option';
import { buildUntrained, BUNDLED_NAMES } from '../model';
import { METHODS } from '../methods';
import type { Streams } from '../progress';

const METHODS_SPECS: Readonly<Record<string, OptionSpec>> = {};

/** `gradlens methods`: one line per method (name, what it is); returns the exit code. */
export function methodsCommand(argv: readonly string[], streams: Streams): number {
  const { help, positionals } = parseArgs('methods', argv, METHODS_SPECS);
  if (help) {
    streams.stdout.write(
      formatHelp('gradlens methods', 'Lists the attribution methods `gradlens explain --method` takes, one line each.', METHODS_SPECS),
    );
    return 0;
  }
  if (positionals.length > 0) throw new CliError(`methods: unexpected argument '${positionals[0]}'`, 2);
  const width = Math.max(...METHODS.map((m) => m.name.length));
  for (const m of METHODS) {
    const tags = [m.usesLayer ? 'layer' : '', m.manyPasses ? 'many passes' : ''].filter((t) => t !== '');
    streams.stdout.write(`${m.name.padEnd(width)}  ${m.summary}${tags.length ? ` [${tags.join(', ')}]` : ''}\n`);
  }
  return 0;
}

const LAYERS_SPECS: Readonly<Record<string, OptionSpec>> = {
  arch: { type: 'string', value: 'NAME', help: 'a torchvision architecture (vgg16, resnet18, …)' },
  model: { type: 'string', value: 'NAME', help: `a bundled model (${BUNDLED_NAMES.join(', ')}), or an ONNX file (<file>.onnx)` },
  size: {
    type: 'string',
    value: 'N|HxW',
    help: 'input side (or height x width, 320x480) used to compute the output shapes',
    default:
      "the architecture's crop size (torchvision's transform: resnet50 224, efficientnet_b4 380, inception_v3 299), or the bundled model's size",
  },
};

/** `gradlens layers`: module paths, types, output shapes and parameter counts; returns the exit code. */
export function layersCommand(argv: readonly string[], streams: Streams): number {
  const { options: o, help, positionals } = parseArgs('layers', argv, LAYERS_SPECS);
  if (help) {
    streams.stdout.write(
      formatHelp(
        'gradlens layers (--arch <name> | --model <bundled>) [--size N|HxW]',
        'Lists every module path of a model with its output shape for one input: the names --layer takes.',
        LAYERS_SPECS,
      ),
    );
    return 0;
  }
  if (positionals.length > 0) throw new CliError(`layers: unexpected argument '${positionals[0]}'`, 2);
  const built = buildUntrained('layers', o);
  const given = sizeOption('layers', o);
  const [h, w] = given === undefined ? [built.size, built.width ?? built.size] : typeof given === 'number' ? [given, given] : given;
  let rows;
  try {
    rows = layers(built.model, [1, 3, h, w]);
  } catch (e) {
    throw new CliError(`layers: ${built.name} does not run on a ${h}×${w} input: ${(e as Error).message.replace(/\n\s*/g, '; ')}`);
  }
  streams.stdout.write(
    `${built.name}, input [1, 3, ${h}, ${w}]; default CAM layer: ${built.defaultLayer ?? 'none (no top-level module gives a 4-D map larger than 1×1; give --layer)'}\n`,
  );
  streams.stdout.write(`${formatLayers(rows)}\n`);
  return 0;
}
