// @ts-check
'use strict';
// "did you mean": the nearest-name rule of the CLI and the layer lookups (nn's names.ts, which imports nothing).
const { nearestNames } = require('../packages/nn/dist/names');
/**
 * The flag reader of the scripts in this folder (and scripts/vit-probe.js). Each script declares its
 * flags; the command line is checked against them before the script does anything, so a typo
 * (`--epoch 30`) or `--help` never starts a run that overwrites the bundled weights:
 *   - `--help` (or `-h`) prints the usage and the flags and exits 0;
 *   - an unknown flag, a flag given twice, a number flag whose value is not a number, a value flag
 *     without a value, or a stray word: one line on stderr naming it, exit code 2.
 * Forms: `--name value`, `--name=value`; a switch alone (`--bn`) is 'true', or takes `true`/`false`.
 */

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
 * word that does not fit. Pure: no output, no exit.
 * @param {Spec} spec @param {string[]} argv @returns {Parsed}
 */
function parseFlags(spec, argv) {
  const known = Object.keys(spec.flags);
  const values = /** @type {Map<string, string>} */ (new Map());
  let command = /** @type {string | undefined} */ (undefined);
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const word = /** @type {string} */ (argv[i]);
    if (word === '--help' || word === '-h') {
      help = true;
      continue;
    }
    if (!word.startsWith('--')) {
      if (i === 0 && spec.commands) {
        if (!spec.commands.includes(word)) throw new FlagError(`unknown command '${word}' (known: ${spec.commands.join(', ')})`);
        command = word;
        continue;
      }
      throw new FlagError(`unexpected argument '${word}'${i > 0 ? ` after ${argv[i - 1]}` : ''}: flags are --name value`);
    }
    const eq = word.indexOf('=');
    const name = word.slice(2, eq < 0 ? undefined : eq);
    const flag = Object.prototype.hasOwnProperty.call(spec.flags, name) ? spec.flags[name] : undefined;
    if (!flag) {
      const guess = nearestNames(name, known, 1)[0];
      throw new FlagError(`unknown flag --${name}${guess ? ` (did you mean --${guess}?)` : ''}; known: ${known.map((k) => `--${k}`).join(' ')}`);
    }
    if (values.has(name)) throw new FlagError(`--${name} given twice`);
    let value = eq < 0 ? undefined : word.slice(eq + 1);
    const next = argv[i + 1];
    if (flag.kind === 'switch') {
      if (value === undefined && (next === 'true' || next === 'false')) value = argv[++i];
      if (value === undefined) value = 'true';
      if (value !== 'true' && value !== 'false') throw new FlagError(`--${name} is a switch: give it alone, or 'true' or 'false', got '${value}'`);
    } else {
      if (value === undefined) {
        if (next === undefined || next.startsWith('--')) throw new FlagError(`--${name} needs a value (${flag.value ?? flag.kind})`);
        value = next;
        i++;
      }
      if (flag.kind === 'number' && (value.trim() === '' || !Number.isFinite(Number(value)))) throw new FlagError(`--${name} must be a number, got '${value}'`);
    }
    values.set(name, value);
  }
  if (!help && spec.commands && command === undefined) throw new FlagError(`a command is needed first: ${spec.commands.join(', ')}`);
  return { values, command, help };
}

/** The usage text: the usage line, then one line per flag. @param {Spec} spec */
function usageText(spec) {
  const rows = Object.entries(spec.flags).map(([name, f]) => [`--${name}${f.kind === 'switch' ? '' : ` ${f.value ?? (f.kind === 'number' ? 'N' : 'VALUE')}`}`, f.help]);
  const width = Math.max(...rows.map(([left]) => /** @type {string} */ (left).length));
  return [`usage: ${spec.usage}`, '', ...rows.map(([left, help]) => `  ${/** @type {string} */ (left).padEnd(width)}  ${help}`), `  ${'--help'.padEnd(width)}  print this and exit`, ''].join('\n');
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
    const script = spec.usage.split(' ').slice(0, 2).join(' ');
    process.stderr.write(`${script}: ${e.message} (--help for the usage)\n`);
    process.exit(2);
  }
  if (parsed.help) {
    process.stdout.write(usageText(spec));
    process.exit(0);
  }
  const { values, command } = parsed;
  /** @param {string} name @param {string} fallback */
  function arg(name, fallback) {
    if (!Object.prototype.hasOwnProperty.call(spec.flags, name)) throw new Error(`args.js: the script reads --${name} but does not declare it`);
    return values.get(name) ?? fallback;
  }
  return { arg, command };
}

module.exports = { declareFlags, parseFlags, usageText, FlagError };
