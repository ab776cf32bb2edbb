import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { main } from '../src/main';
import { parsePort, serveCommand, startStaticServer } from '../src/commands/serve';

/** Captures what a command writes. */
function streams() {
  let out = '';
  let err = '';
  return {
    s: {
      stdout: {
        write: (t: string) => {
          out += t;
          return true;
        },
      },
      stderr: {
        write: (t: string) => {
          err += t;
          return true;
        },
      },
    },
    out: () => out,
    err: () => err,
  };
}

/** GET (or another method) of a URL: status, headers, body. */
function get(url: string, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A raw request line, so `..` reaches the server unnormalised. */
function rawGet(port: number, target: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = require('net').connect(port, '127.0.0.1', () =>
      sock.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
    );
    let text = '';
    sock.on('data', (c: Buffer) => {
      text += c.toString('utf8');
    });
    sock.on('end', () => resolve(text));
    sock.on('error', reject);
  });
}

describe('gradlens serve', () => {
  let root: string;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'gradlens-serve-'));
    fs.writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>page</title>');
    fs.writeFileSync(path.join(root, 'page.js'), 'console.log(1)');
    fs.writeFileSync(path.join(path.dirname(root), `${path.basename(root)}-secret.txt`), 'secret');
  });
  afterAll(() => {
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(path.join(path.dirname(root), `${path.basename(root)}-secret.txt`), { force: true });
  });

  test('starts on 127.0.0.1, prints the URL, serves files with the cross-origin isolation headers, stops', async () => {
    const s = streams();
    let stop!: () => void;
    const stopped = new Promise<void>((r) => {
      stop = r;
    });
    const running = serveCommand(['--port', '0', '--dir', root], s.s, stopped);
    for (let i = 0; i < 200 && !s.out().includes('http://'); i++) await new Promise((r) => setTimeout(r, 10));
    const url = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(s.out());
    expect(url).not.toBeNull();
    const index = await get(url![0]);
    expect(index.status).toBe(200);
    expect(index.body).toContain('<title>page</title>');
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(index.headers['cross-origin-embedder-policy']).toBe('require-corp');
    const js = await get(`${url![0]}page.js`);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect((await get(`${url![0]}page.js`, 'HEAD')).body).toBe('');
    expect((await get(`${url![0]}missing.js`)).status).toBe(404);
    expect((await get(`${url![0]}page.js`, 'POST')).status).toBe(405);
    // nothing outside the folder, however the path is spelled
    for (const target of [
      `/../${path.basename(root)}-secret.txt`,
      `/%2e%2e/${path.basename(root)}-secret.txt`,
      '/..%2f..%2fetc%2fpasswd',
    ]) {
      const text = await rawGet(Number(url![1]), target);
      expect(text).not.toContain('secret');
      expect(text).toMatch(/^HTTP\/1\.1 404/);
    }
    stop();
    expect(await running).toBe(0);
    await expect(get(url![0])).rejects.toThrow();
  });

  test.each([
    ['70000', /--port must be an integer from 0 to 65535.*got '70000'/],
    ['-1', /got '-1'/],
    ['http', /got 'http'/],
    ['8080.5', /got '8080\.5'/],
  ])('refuses --port %s with exit code 2 and one line', async (port, message) => {
    const s = streams();
    expect(await main(['serve', '--port', port, '--dir', root], s.s)).toBe(2);
    expect(s.err()).toMatch(message);
    expect(s.err().trim().split('\n')).toHaveLength(1);
    expect(() => parsePort(port)).toThrow(message);
  });

  test('a port in use is refused clearly (exit 1), and so is a folder without index.html', async () => {
    const busy = await startStaticServer(root, 0);
    try {
      const s = streams();
      expect(await main(['serve', '--port', String(busy.port), '--dir', root], s.s)).toBe(1);
      expect(s.err()).toBe(`gradlens: serve: port ${busy.port} on 127.0.0.1 is in use; pick another with --port (0 picks a free one)\n`);
    } finally {
      await busy.close();
    }
    const s = streams();
    expect(await main(['serve', '--port', '0', '--dir', os.tmpdir() + path.sep + 'no-such-page-dir'], s.s)).toBe(2);
    expect(s.err()).toMatch(/has no index\.html/);
  });

  test('--help says what it serves', async () => {
    const s = streams();
    expect(await main(['serve', '--help'], s.s)).toBe(0);
    expect(s.out()).toMatch(/usage: gradlens serve/);
    expect(s.out()).toMatch(/--port N/);
  });
});
