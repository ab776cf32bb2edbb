// @ts-check
'use strict';
/**
 * The flag reader of the repository's scripts: weights/ (training), benchmarks/ and scripts/vit-probe.js.
 * It lives here, beside scripts/chromium.cjs, because both weights/ and benchmarks/ use it and neither
 * should reach into the other. Each script declares its flags; the command line is checked against them
 * before the script does anything, so a typo (`--epoch 30`) or `--help` never starts a run that overwrites
 * the bundled weights or spends minutes on a benchmark with a default the user meant to change:
 *   - `--help` (or `-h`) prints the usage and the flags and exits 0;
 *   - an unknown flag, a flag given twice, a number flag whose value is not a number, a value flag
 *     without a value, or a stray word: one line on stderr naming it, exit code 2.
 * Forms: `--name value`, `--name=value`; a switch alone (`--bn`) is 'true', `--no-bn` 'false', or it takes
 * `true`/`false`. The words are read by the CLI's parser (built by `npx tsc -b`, as the scripts' packages are).
 */
const { parseArgs, CliError } = require('../packages/cli/dist/args');

/**
 * A declared flag: 'number' takes a finite number, 'string' any value, 'switch' none (or true/false).
 * @typedef {{ kind: 'number' | 'string' | 'switch', help: string, value?: string }} Flag
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
  const script = spec.usage.split(' ').slice(0, 2).join(' ');
  const fail = (/** @type {string} */ message) => new FlagError(`${script}: ${message}`);
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
    parsed = parseArgs(script, words, specs);
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
    if (spec.flags[name]?.kind === 'number' && (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(Number(value))))
      throw fail(`--${name} must be a number, got '${String(value)}'`);
    values.set(name, String(value));
  }
  return { values, command, help };
}

/** The usage text: the usage line, then one line per flag. @param {Spec} spec */
function usageText(spec) {
  const rows = Object.entries(spec.flags).map(([name, f]) => [
    `--${name}${f.kind === 'switch' ? '' : ` ${f.value ?? (f.kind === 'number' ? 'N' : 'VALUE')}`}`,
    f.help,
  ]);
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
 * arg(name, fallback) (the given value as a string, a switch's 'true'/'false', or fallback; asking for
 * an undeclared flag is the script's bug and throws) and the sub-command.
 * @param {Spec} spec
 */
function declareFlags(spec) {
  /** @type {Parsed} */
  let parsed;
  try {
    parsed = parseFlags(spec, process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    process.stderr.write(`${e.message} (--help for the usage)\n`);
    process.exit(2);
  }
  if (parsed.help) {
    process.stdout.write(usageText(spec));
    process.exit(0);
  }
  const { values, command } = parsed;
  /** @param {string} name @param {string} fallback */
  function arg(name, fallback) {
    if (!Object.prototype.hasOwnProperty.call(spec.flags, name))
      throw new Error(`flags.js: the script reads --${name} but does not declare it`);
    return values.get(name) ?? fallback;
  }
  return { arg, command };
}

module.exports = { declareFlags, parseFlags, usageText, FlagError };
