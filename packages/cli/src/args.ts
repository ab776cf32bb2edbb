/**
 * A small, strict command-line parser: `--name value`, `--name=value`, boolean flags and their
 * `--no-name` forms, `-h`. Unknown options and missing values are errors a user can act on.
 */

import { didYouMean } from '@gradlens/nn';

/**
 * An error the command reports as one line. Exit code 2: the command line is wrong (unknown command,
 * option, method, model, layer, colormap; a missing or unreadable --image or --weights; a bad value);
 * all of these are found before any weights load. Exit code 1: a failure while running.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** How one option is read. */
export interface OptionSpec {
  /** 'string' takes a value; 'boolean' takes none (`--no-<name>` sets false). */
  type: 'string' | 'boolean';
  /** One line for `--help`. */
  help: string;
  /** Name of the value in `--help` (default: NAME). */
  value?: string;
  /** Default shown in `--help`. */
  default?: string;
}

/** Parsed options: strings for valued options, booleans for flags; absent when not given. */
export type ParsedOptions = Record<string, string | boolean | undefined>;

/** The parsed command line of one command. */
export interface Parsed {
  options: ParsedOptions;
  positionals: string[];
  help: boolean;
}

/** The spec of option `name`, if declared: an own key only, so `--constructor` or `--__proto__` is unknown, not Object's. */
function specOf(specs: Readonly<Record<string, OptionSpec>>, name: string): OptionSpec | undefined {
  return Object.prototype.hasOwnProperty.call(specs, name) ? specs[name] : undefined;
}

/** Parses `argv` (the words after the command name) against `specs`; throws CliError(…, 2) on unknown or malformed options. */
export function parseArgs(command: string, argv: readonly string[], specs: Readonly<Record<string, OptionSpec>>): Parsed {
  const options: ParsedOptions = {};
  const positionals: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      if (arg.startsWith('-') && arg.length > 1 && !/^-\d/.test(arg))
        throw new CliError(`${command}: unknown option '${arg}' (options are spelled --name; --help lists them)`, 2);
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const spec = specOf(specs, name);
    if (!spec && name.startsWith('no-') && specOf(specs, name.slice(3))?.type === 'boolean') {
      if (eq >= 0) throw new CliError(`${command}: --${name} takes no value`, 2);
      options[name.slice(3)] = false;
      continue;
    }
    if (!spec && specOf(specs, `no-${name}`)?.type === 'boolean') {
      // `--normalize` as the opposite of a documented `--no-normalize`
      if (eq >= 0) throw new CliError(`${command}: --${name} takes no value`, 2);
      options[`no-${name}`] = false;
      continue;
    }
    if (!spec) {
      const known = Object.keys(specs).map((k) => `--${k}`);
      // Other tools take an ONNX file as --onnx; here it is a --model that ends in .onnx.
      const hint = name === 'onnx' && specs.model ? ` (an ONNX file goes to --model <file>.onnx)` : didYouMean(`--${name}`, known);
      throw new CliError(`${command}: unknown option '--${name}'${hint}; options: ${known.join(', ')}, --help`, 2);
    }
    if (spec.type === 'boolean') {
      if (eq >= 0) {
        const v = arg.slice(eq + 1);
        if (v !== 'true' && v !== 'false')
          throw new CliError(`${command}: --${name} is a flag (give it alone, or =true/=false), got '${v}'`, 2);
        options[name] = v === 'true';
      } else {
        options[name] = true;
      }
      continue;
    }
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || (value.startsWith('--') && value.length > 2)) {
        throw new CliError(`${command}: --${name} needs a value (${spec.value ?? 'NAME'})`, 2);
      }
      i++;
    }
    options[name] = value;
  }
  return { options, positionals, help };
}

/** The `--help` text of a command: usage line, description, then one line per option. */
export function formatHelp(usage: string, description: string, specs: Readonly<Record<string, OptionSpec>>, extra = ''): string {
  const rows = Object.entries(specs).map(([name, s]) => {
    const left = s.type === 'boolean' ? `--${name}` : `--${name} ${s.value ?? 'NAME'}`;
    const def = s.default !== undefined ? ` (default ${s.default})` : '';
    return [left, s.help + def] as const;
  });
  rows.push(['-h, --help', 'show this help']);
  const width = Math.max(...rows.map(([l]) => l.length));
  const lines = rows.map(([l, r]) => `  ${l.padEnd(width)}  ${r}`);
  return `usage: ${usage}\n\n${description}\n\noptions:\n${lines.join('\n')}\n${extra ? `\n${extra}\n` : ''}`;
}

/** The value of a string option, or undefined. */
export function str(o: ParsedOptions, name: string): string | undefined {
  const v = o[name];
  return typeof v === 'string' ? v : undefined;
}

/** The value of a boolean flag (false when absent). */
export function flag(o: ParsedOptions, name: string): boolean {
  return o[name] === true;
}

/** A positive (or, with `min` 0, non-negative) integer option, or `fallback`; throws a CliError naming the option otherwise. */
export function intOption(command: string, o: ParsedOptions, name: string, fallback: number, min = 1): number {
  const v = str(o, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new CliError(`${command}: --${name} must be an integer ≥ ${min}, got '${v}'`, 2);
  return n;
}
