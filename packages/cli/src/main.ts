#!/usr/bin/env node
import { didYouMean } from '@gradlens/nn';
import { applyCpuEnvironment, parseBackendSpec, setBackendFromSpec } from '@gradlens/tensor';
import { CliError } from './args';
import { demoCommand } from './commands/demo';
import { evaluateCommand } from './commands/evaluate';
import { explainCommand } from './commands/explain';
import { layersCommand, methodsCommand } from './commands/info';
import { serveCommand } from './commands/serve';
import type { Streams } from './progress';

export { CliError } from './args';
export type { Streams } from './progress';
export { METHODS, METHOD_NAMES } from './methods';
export { pictureStem } from './pictures';

const COMMANDS: Readonly<Record<string, { run: (argv: readonly string[], s: Streams) => number | Promise<number>; summary: string }>> = {
  explain: { run: explainCommand, summary: 'attribution maps of one picture, saved as the reference scripts name them' },
  methods: { run: methodsCommand, summary: 'list the attribution methods, one line each' },
  layers: { run: layersCommand, summary: "list a model's module paths and output shapes (what --layer takes)" },
  evaluate: { run: evaluateCommand, summary: 'score the methods (localisation, pointing game, deletion/insertion, …) on held-out images' },
  demo: { run: demoCommand, summary: 'run everything on the bundled samples and write a self-contained HTML gallery' },
  serve: { run: serveCommand, summary: 'serve the interactive page (every method in the browser, the tape and its rules) on 127.0.0.1' },
};

/** The `gradlens --help` text. */
export function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  const rows = Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(width)}  ${c.summary}`);
  return `usage: gradlens <command> [options]

See why a convolutional network decides what it decides.

commands:
${rows.join('\n')}

gradlens <command> --help shows the options of a command. Start with: gradlens demo
Errors are one line (exit code 2: a wrong command line, found before any weights load; 1: a failure
while running); set GRADLENS_DEBUG=1 for the stack trace.
`;
}

/** Backends that live in their own package: the package registers the backend when imported. */
const BACKEND_PACKAGES: Readonly<Record<string, string>> = { gpujs: '@gradlens/backend-gpujs' };

/** Selects the backend GRADLENS_BACKEND names, importing its package first; a wrong value is a usage error. */
async function useBackend(spec: string): Promise<void> {
  let name: string;
  try {
    name = parseBackendSpec(spec).name;
  } catch (e) {
    throw new CliError(`GRADLENS_BACKEND: ${(e as Error).message}`, 2);
  }
  const pkg = BACKEND_PACKAGES[name];
  if (pkg !== undefined) {
    try {
      await import(pkg);
    } catch (e) {
      throw new CliError(`GRADLENS_BACKEND=${spec} needs the package ${pkg} (npm install ${pkg}): ${oneLine(e)}`, 2);
    }
  }
  try {
    setBackendFromSpec(spec);
  } catch (e) {
    throw new CliError(`GRADLENS_BACKEND: ${(e as Error).message}`, 2);
  }
}

/** One line for an error: its message's lines joined, without the stack. */
export function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return (
    msg
      .split('\n')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .join('; ')
      // names from files (CSV fields, keys, node names) may hold \r or terminal escapes: shown, not obeyed
      .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) =>
        c === '\r' ? '\\r' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
      )
  );
}

/**
 * Runs the command line `argv` (the words after `gradlens`) and returns the exit code: 0 on success,
 * 2 for a wrong command line (found before any weights load), 1 for a failure while running. Errors are written to stderr as one line.
 */
export async function main(
  argv: readonly string[],
  streams: Streams = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  try {
    const [cmd, ...rest] = argv;
    if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') {
      if (cmd === 'help' && rest[0] !== undefined && COMMANDS[rest[0]]) return await COMMANDS[rest[0]]!.run(['--help'], streams);
      streams.stdout.write(mainHelp());
      return cmd === undefined ? 2 : 0;
    }
    if (cmd === '--version' || cmd === '-V') {
      streams.stdout.write('gradlens 0.1.0\n');
      return 0;
    }
    const command = Object.prototype.hasOwnProperty.call(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
    if (!command)
      throw new CliError(
        `unknown command '${cmd}'${didYouMean(cmd, Object.keys(COMMANDS))}; commands: ${Object.keys(COMMANDS).join(', ')} (gradlens --help)`,
        2,
      );
    // The core reads no environment: the entry point turns GRADLENS_THREADS, GRADLENS_CPU_GEMM, GRADLENS_WINOGRAD
    // and GRADLENS_ARENA_MB into the CPU backend's settings.
    try {
      applyCpuEnvironment(process.env);
    } catch (e) {
      throw new CliError((e as Error).message, 2);
    }
    // …and GRADLENS_BACKEND=name[:mode] into the backend (a backend package registers itself when imported).
    const backend = process.env.GRADLENS_BACKEND;
    if (backend !== undefined && backend !== '') await useBackend(backend);
    return await command.run(rest, streams);
  } catch (e) {
    if (process.env.GRADLENS_DEBUG === '1' && e instanceof Error && e.stack) streams.stderr.write(`${e.stack}\n`);
    streams.stderr.write(`gradlens: ${oneLine(e)}\n`);
    return e instanceof CliError ? e.exitCode : 1;
  }
}

/** Runs the command line of this process (`process.argv`) and sets the exit code; what bin/gradlens.js calls. */
export function run(): void {
  // `gradlens methods | head` closes the pipe early: stop quietly, as Unix tools do
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`gradlens: ${oneLine(e)}\n`);
      process.exitCode = 1;
    },
  );
}

if (require.main === module) run();
