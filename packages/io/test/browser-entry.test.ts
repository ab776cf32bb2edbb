/**
 * The browser entry (src/browser.ts): decoding from bytes with no Node module (fflate's DEFLATE, the
 * portable PNG encoder) gives exactly what the Node entry gives, every fixture and hostile file
 * included; a path is a one-line error that says to pass bytes.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as browserIo from '../src/browser';
import { setPngEncoder } from '../src/images/png';

// The test set-up installed io's Node platform in this registry (io's tests import its modules directly):
// take it out again, so that these calls see what a browser sees.
browserIo.setFileAccess(null);
browserIo.setZlib(browserIo.portableZlib);
setPngEncoder(null);

let nodeIo!: typeof import('../src/index');
jest.isolateModules(() => {
  nodeIo = require('../src/index') as typeof import('../src/index');
});

const FIXTURES = path.join(__dirname, 'fixtures');
const filesIn = (dir: string, ext: RegExp): string[] =>
  fs
    .readdirSync(path.join(FIXTURES, dir))
    .filter((f) => ext.test(f))
    .map((f) => path.join(FIXTURES, dir, f));

/** A value with every typed array replaced by its type, length and CRC-32 (hostile files decode to hundreds of MB). */
function digest(v: unknown): unknown {
  if (ArrayBuffer.isView(v))
    return {
      type: v.constructor.name,
      length: (v as Uint8Array).length,
      crc: browserIo.crc32(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)),
    };
  if (Array.isArray(v)) return v.map(digest);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, digest(x)]));
  return v;
}

/** What a decoder gives (digested), or the fact that it threw (messages may word zlib's complaint differently). */
function outcome(fn: () => unknown): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: digest(fn()) };
  } catch {
    return { ok: false };
  }
}

type Io = typeof browserIo;
const DECODERS: [RegExp, (io: Io, bytes: Uint8Array, name: string) => unknown][] = [
  [/\.(png|jpe?g)$/, (io, b, n) => io.decodeImage(b, n)],
  [/\.npy$/, (io, b, n) => io.decodeNpy(b, n)],
  [/\.npz$/, (io, b, n) => io.decodeNpz(b, n)],
  [/\.pth$/, (io, b, n) => io.decodeTorchFile(b, n)],
  [/\.safetensors$/, (io, b, n) => io.decodeSafetensors(b, n)],
];

describe('@gradlens/io browser entry', () => {
  const files = [
    ...filesIn('images/png', /\.png$/),
    ...filesIn('images/jpeg', /\.jpe?g$/),
    ...filesIn('formats', /\.(npy|npz|pth|safetensors)$/),
    // expand-* materialise hundreds of MB by design (hostile/formats.test.ts measures them in a child process)
    ...filesIn('hostile', /\.(npy|npz|pth|safetensors)$/).filter((f) => !path.basename(f).startsWith('expand-')),
  ];

  test.each(files.map((f) => [path.relative(FIXTURES, f), f]))('%s decodes from bytes as under Node', (_, file) => {
    const bytes = new Uint8Array(fs.readFileSync(file));
    const decode = DECODERS.find(([re]) => re.test(file))![1];
    const inBrowser = outcome(() => decode(browserIo, bytes, file));
    const inNode = outcome(() => decode(nodeIo as unknown as Io, bytes, file));
    expect(inBrowser).toEqual(inNode);
  });

  test('the fixtures include both kinds: files that decode and hostile ones that must fail', () => {
    const results = files.map(
      (f) => outcome(() => DECODERS.find(([re]) => re.test(f))![1](browserIo, new Uint8Array(fs.readFileSync(f)), f)).ok,
    );
    expect(results.filter(Boolean).length).toBeGreaterThan(40);
    expect(results.filter((ok) => !ok).length).toBeGreaterThan(5);
  });

  test('a path is a one-line error that says to pass bytes', () => {
    expect(() => browserIo.readImage('cat.png')).toThrow(
      "readImage cat.png: files can be read and written only under Node (@gradlens/io's node entry); in a browser, pass the file's bytes (a Uint8Array) instead of a path",
    );
    expect(() => browserIo.readSafetensors('model.safetensors')).toThrow(
      /^reading model.safetensors: files can be read .* only under Node/,
    );
    expect(() => browserIo.writeNpy('out.npy', { dtype: 'float32', shape: [1], data: new Float32Array(1) })).toThrow(
      /^writing out.npy: files can be read and written only under Node/,
    );
  });

  test('the portable PNG encoder writes what both entries decode back to the same samples (8 and 16 bits, every channel count)', () => {
    for (const channels of [1, 2, 3, 4] as const) {
      for (const bitDepth of [8, 16] as const) {
        const width = 7,
          height = 5,
          n = width * height * channels;
        const data =
          bitDepth === 8
            ? Uint8Array.from({ length: n }, (_, i) => (i * 37) & 255)
            : Uint16Array.from({ length: n }, (_, i) => (i * 7919) & 65535);
        const image = { width, height, channels, bitDepth, data } as browserIo.RasterImage;
        const png = browserIo.encodePng(image);
        expect(browserIo.decodePng(png)).toEqual(image);
        expect(nodeIo.decodePng(png)).toEqual(image);
      }
    }
  });

  test('fflate inflate is bounded: data inflating past the bound fails with ERR_BUFFER_TOO_LARGE', () => {
    const zeros = new Uint8Array(1 << 20);
    const packed = browserIo.portableZlib.deflateRaw(zeros);
    expect(browserIo.portableZlib.inflateRaw(packed, zeros.length)).toEqual(zeros);
    expect(() => browserIo.portableZlib.inflateRaw(packed, 1000)).toThrow(expect.objectContaining({ code: 'ERR_BUFFER_TOO_LARGE' }));
    expect(() => browserIo.portableZlib.inflateRaw(packed.subarray(0, packed.length >> 1), zeros.length)).toThrow();
  });
});
