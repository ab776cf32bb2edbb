import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { ensureDir, writeFileAtomic } from '@gradlens/io';
import type { OptionSpec } from '../args';
import { CliError, formatHelp, parseArgs, str } from '../args';
import type { Streams } from '../progress';

const SPECS: Readonly<Record<string, OptionSpec>> = {
  port: { type: 'string', value: 'N', help: 'TCP port on 127.0.0.1 (0 picks a free one)', default: '8080' },
  dir: { type: 'string', value: 'DIR', help: 'folder to serve instead of the built page (packages/web/dist)' },
};

/** MIME types of what the page is made of; anything else goes out as bytes. */
const MIME: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Headers that make the page cross-origin isolated (COOP + COEP), which is what lets it use
 * SharedArrayBuffer, hence the WebAssembly GEMM and its threads; CORP lets the page's own files load under COEP.
 */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** The built page's folder: @gradlens/web's dist/ (installed, or this checkout's packages/web/dist). */
export function pageDir(): string {
  let dir: string;
  try {
    dir = path.join(path.dirname(require.resolve('@gradlens/web/package.json')), 'dist');
  } catch {
    dir = path.resolve(__dirname, '..', '..', '..', 'web', 'dist');
  }
  return dir;
}

/** The files the built page is made of. */
const PAGE_FILES = ['index.html', 'style.css', 'page.js', 'data.js'] as const;

/**
 * Copies the built page into `<out>/page/` (each file written whole), where it works opened from the disk;
 * returns its index.html, or null when the page is not built (then nothing is written).
 */
export function copyPage(out: string): string | null {
  const from = pageDir();
  if (!PAGE_FILES.every((f) => fs.existsSync(path.join(from, f)))) return null;
  const to = path.join(out, 'page');
  ensureDir(to);
  for (const f of PAGE_FILES) writeFileAtomic(path.join(to, f), fs.readFileSync(path.join(from, f)));
  return path.join(to, 'index.html');
}

/** Parses --port: an integer from 0 to 65535, else a CliError (exit code 2) naming the value. */
export function parsePort(value: string | undefined): number {
  if (value === undefined) return 8080;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new CliError(`serve: --port must be an integer from 0 to 65535 (0 picks a free port), got '${value}'`, 2);
  }
  return n;
}

/** A running static server. */
export interface StaticServer {
  /** http://127.0.0.1:<port>/ */
  url: string;
  port: number;
  /** Stops accepting connections and resolves once closed. */
  close(): Promise<void>;
}

/** The file a request path names inside `root`, or null when it leaves the folder or is not a regular file. */
function resolveFile(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath.split('?')[0]!.split('#')[0]!);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  let file = path.resolve(root, `.${path.posix.normalize(`/${decoded}`)}`);
  if (file !== root && !file.startsWith(root + path.sep)) return null;
  let st = fs.statSync(file, { throwIfNoEntry: false });
  if (st?.isDirectory()) {
    file = path.join(file, 'index.html');
    st = fs.statSync(file, { throwIfNoEntry: false });
  }
  return st?.isFile() ? file : null;
}

/**
 * Serves the files under `root` on 127.0.0.1:`port` (GET and HEAD only, nothing outside `root`), with the
 * cross-origin isolation headers; resolves once listening, rejects with a one-line Error when the port is taken or not allowed.
 */
export function startStaticServer(root: string, port: number): Promise<StaticServer> {
  const base = path.resolve(root);
  const server = http.createServer((req, res) => {
    const send = (status: number, body: string): void => {
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...ISOLATION_HEADERS });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'only GET and HEAD\n');
    const file = resolveFile(base, req.url ?? '/');
    if (!file) return send(404, 'not found\n');
    const type = MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
    res.writeHead(200, {
      'Content-Type': type,
      'Content-Length': fs.statSync(file).size,
      'Cache-Control': 'no-cache',
      ...ISOLATION_HEADERS,
    });
    if (req.method === 'HEAD') return void res.end();
    fs.createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      const why =
        e.code === 'EADDRINUSE'
          ? 'is in use'
          : e.code === 'EACCES'
            ? 'needs privileges this process does not have'
            : `cannot be used (${e.message})`;
      reject(new Error(`serve: port ${port} on 127.0.0.1 ${why}; pick another with --port (0 picks a free one)`));
    });
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const actual = typeof address === 'object' && address ? address.port : port;
      resolve({
        url: `http://127.0.0.1:${actual}/`,
        port: actual,
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

/** `gradlens serve`: serves the interactive page on 127.0.0.1 and prints its URL; runs until interrupted, returns the exit code. */
export async function serveCommand(argv: readonly string[], streams: Streams, stop?: Promise<void>): Promise<number> {
  const { options: o, help, positionals } = parseArgs('serve', argv, SPECS);
  if (help) {
    streams.stdout.write(
      formatHelp(
        'gradlens serve [--port N] [--dir DIR]',
        'Serves the interactive page (every method in the browser, the tape and its rules) on 127.0.0.1 with the\n' +
          'cross-origin isolation headers that WebAssembly threads need, and prints the URL. Ctrl-C stops it.',
        SPECS,
      ),
    );
    return 0;
  }
  if (positionals.length > 0) throw new CliError(`serve: unexpected argument '${positionals[0]}'`, 2);
  const port = parsePort(str(o, 'port'));
  const dirOption = str(o, 'dir');
  const root = dirOption ?? pageDir();
  if (!fs.existsSync(path.join(root, 'index.html'))) {
    throw new CliError(
      dirOption !== undefined
        ? `serve: ${root} has no index.html`
        : `serve: the page is not built (${path.join(root, 'index.html')} is missing); build it with \`npm run build -w @gradlens/web\``,
      2,
    );
  }
  const server = await startStaticServer(root, port);
  streams.stdout.write(`gradlens page at ${server.url}  (serving ${root}; Ctrl-C stops)\n`);
  await (stop ?? interrupted());
  await server.close();
  return 0;
}

/** Resolves on the first SIGINT or SIGTERM. */
function interrupted(): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}
