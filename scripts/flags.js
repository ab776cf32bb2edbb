// @ts-check
'use strict';
/**
 * The flag reader of the repository's scripts: weights/ (training), benchmarks/ and scripts/vit-probe.js.
 * It lives here, beside scripts/chromium.cjs, because both weights/ and benchmarks/ use it and neither
 * should reach into the other. Each script declares its flags; the command line is checked against them
 * before the script does anything, so a typo (`--epoch 30`) or `--help` never starts a run that overwrites
 * the bundled weights or spends minutes on a benchmark with a default the user meant to change:
 *   - `--help` (or `-h`) prints the usage and the flags and exits 0;
 *   - an unknown flag, a flag given twice, a number flag whose value is not a number (or a list of numbers,
 *     as `--threads 1,2`, with an item that is not), a value flag without a value, or a stray word: one line
 *     on stderr naming it, exit code 2.
 * Forms: `--name value`, `--name=value`; a switch alone (`--bn`) is 'true', `--no-bn` 'false', or it takes
 * `true`/`false`. The words are read by the CLI's parser (built by `npx tsc -b`, as the scripts' packages are).
 */
const { parseArgs, CliError } = require('../packages/cli/dist/args');

/**
 * A declared flag: 'number' takes a finite number, 'numbers' finite numbers separated by commas (`1,2`),
 * 'string' any value, 'switch' none (or true/false).
 * @typedef {{ kind: 'number' | 'numbers' | 'string' | 'switch', help: string, value?: string }} Flag
 */
/**
 * A script's command line: its usage line, its flags, and the words it takes as its first argument
 * (a sub-command, as vit-probe.js's dump|init|train), if any.
 * @typedef {{ usage: string, flags: Record<string, Flag>, commands?: string[] }} Spec
 */
/**
 * What parseFlags read: each given flag's value (a switch's 'true'/'false'), the sub-command, or help.
 * @typedef {{ values: Map<string, string>, command: string | undefined, help: boolean }} Parsed
 */

/** How messages name the script: the usage's first two words (`node weights/train.js`). @param {Spec} spec */
function scriptOf(spec) {
  return spec.usage.split(' ').slice(0, 2).join(' ');
}

/** A command line that does not fit the script's flags (its message is the one line to print). */
class FlagError extends Error {}

/**
 * Reads argv (the words after the script's path) against spec; throws a FlagError naming the first
 * word that does not fit. Pure: no output, no exit. The words are read by the CLI's parser
 * (packages/cli/src/args.ts: unknown flags with "did you mean", missing values, `--name=value`,
 * switches and their `--no-` forms); on top of it: number flags, a flag given twice, `--switch true|false`
 * as older cards wrote it, and an optional sub-command first.
 * @param {Spec} spec @param {string[]} argv @returns {Parsed}
 */
function parseFlags(spec, argv) {
  const fail = (/** @type {string} */ message) => new FlagError(`${scriptOf(spec)}: ${message}`);
  /** @type {Record<string, import('../packages/cli/dist/args').OptionSpec>} */
  const specs = {};
  for (const [name, f] of Object.entries(spec.flags)) {
    specs[name] = { type: f.kind === 'switch' ? 'boolean' : 'string', help: f.help, value: f.value ?? f.kind };
  }
  const words = [];
  const seen = new Set();
  for (let i = 0; i < argv.length; i++) {
    const word = /** @type {string} */ (argv[i]);
    const name = word.startsWith('--') ? word.slice(2).split('=')[0] : undefined;
    if (name) {
      if (seen.has(name)) throw fail(`--${name} given twice`);
      seen.add(name);
      const next = argv[i + 1];
      if (spec.flags[name]?.kind === 'switch' && !word.includes('=') && (next === 'true' || next === 'false')) {
        words.push(`${word}=${next}`);
        i++;
        continue;
      }
    }
    words.push(word);
  }
  let parsed;
  try {
    parsed = parseArgs(scriptOf(spec), words, specs);
  } catch (e) {
    if (e instanceof CliError) throw new FlagError(e.message);
    throw e;
  }
  const { options, positionals, help } = parsed;
  let command = /** @type {string | undefined} */ (undefined);
  const rest = [...positionals];
  if (spec.commands && rest.length > 0) {
    command = rest.shift();
    if (!spec.commands.includes(/** @type {string} */ (command)))
      throw fail(`unknown command '${command}' (known: ${spec.commands.join(', ')})`);
  }
  if (rest.length > 0) throw fail(`unexpected argument '${rest[0]}': flags are --name value`);
  if (!help && spec.commands && command === undefined) throw fail(`a command is needed first: ${spec.commands.join(', ')}`);
  const values = /** @type {Map<string, string>} */ (new Map());
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined) continue;
    const misfit = kindMisfit(name, spec.flags[name], value);
    if (misfit) throw fail(misfit);
    values.set(name, String(value));
  }
  return { values, command, help };
}

/** Whether word is a finite number as written: not '', not 'Infinity'. @param {string} word */
function isNumber(word) {
  return word.trim() !== '' && Number.isFinite(Number(word));
}

/**
 * Why a number flag's value is not one (or a numbers flag's not a list of them), else undefined.
 * @param {string} name @param {Flag | undefined} flag @param {string | boolean} value
 */
function kindMisfit(name, flag, value) {
  if (flag?.kind === 'number' && (typeof value !== 'string' || !isNumber(value)))
    return `--${name} must be a number, got '${String(value)}'`;
  if (flag?.kind === 'numbers' && (typeof value !== 'string' || !value.split(',').every(isNumber)))
    return `--${name} must be numbers separated by commas (as 1,2), got '${String(value)}'`;
  return undefined;
}

/** The placeholder of a flag's value in the usage. @param {Flag} f */
function placeholder(f) {
  return f.value ?? { number: 'N', numbers: 'N,N', string: 'VALUE', switch: '' }[f.kind];
}

/** The usage text: the usage line, then one line per flag. @param {Spec} spec */
function usageText(spec) {
  const rows = Object.entries(spec.flags).map(([name, f]) => [`--${name}${f.kind === 'switch' ? '' : ` ${placeholder(f)}`}`, f.help]);
  const width = Math.max(...rows.map(([left]) => /** @type {string} */ (left).length));
  return [
    `usage: ${spec.usage}`,
    '',
    ...rows.map(([left, help]) => `  ${/** @type {string} */ (left).padEnd(width)}  ${help}`),
    `  ${'--help'.padEnd(width)}  print this and exit`,
    '',
  ].join('\n');
}

/**
 * Reads this process's command line against spec, before the script does anything: prints the usage
 * and exits 0 on --help, prints one line and exits 2 on a command line that does not fit. Returns
 * arg(name, fallback) (the given value as a string, a switch's 'true'/'false', or fallback), list(name)
 * (the given value split at its commas, or undefined when not given, so the script's default applies),
 * the sub-command, and refuse(message): the same one line and exit 2, for a value the script checks
 * itself (a count that must be a whole number). Asking for an undeclared flag is the script's bug and throws.
 * @param {Spec} spec
 */
function declareFlags(spec) {
  /** @param {string} line @returns {never} */
  const stop = (line) => {
    // Lines from the CLI's parser that already point at --help (unknown options) get no second pointer.
    process.stderr.write(line.includes('--help') ? `${line}\n` : `${line} (--help for the usage)\n`);
    process.exit(2);
  };
  /** @type {Parsed} */
  let parsed;
  try {
    parsed = parseFlags(spec, process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    stop(e.message);
  }
  if (parsed.help) {
    process.stdout.write(usageText(spec));
    process.exit(0);
  }
  const { values, command } = parsed;
  /** @param {string} name @returns {string | undefined} */
  function given(name) {
    if (!Object.prototype.hasOwnProperty.call(spec.flags, name))
      throw new Error(`flags.js: the script reads --${name} but does not declare it`);
    return values.get(name);
  }
  /** @param {string} name @param {string} fallback */
  const arg = (name, fallback) => given(name) ?? fallback;
  /** @param {string} name */
  const list = (name) => given(name)?.split(',');
  /** @param {string} message @returns {never} */
  const refuse = (message) => stop(`${scriptOf(spec)}: ${message}`);
  return { arg, list, command, refuse };
}

module.exports = { declareFlags, parseFlags, usageText, FlagError };
