// The decorrelated ('fourier') image parametrisation: its hand-written adjoint against finite
// differences of the forward map, its inverse, and what it does to the spectrum.
import { Generator } from '@gradlens/tensor';
import { fourierParam, pixelParam } from '../src/features/parametrization';

const MEAN = [0.45, 0.5, 0.55];
const STD = [0.2, 0.25, 0.3];

function randomVector(n: number, g: Generator, sd: number): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = sd * g.normal();
  return v;
}

describe('fourier parametrisation', () => {
  // Not square, odd and even sides: rows and columns use different DCT matrices.
  const [h, w] = [5, 8];
  const param = fourierParam(h, w, MEAN, STD);

  test('backward is the transpose of the Jacobian of toPixels (central differences, float64 sums)', () => {
    const g = new Generator(1);
    const p = randomVector(param.size, g, 0.3);
    const u = randomVector(param.size, g, 1); // ∂L/∂pixels of L = Σ u·pixels
    const grad = new Float32Array(param.size);
    param.backward(p, u, grad);
    const loss = (q: Float32Array): number => {
      const x = new Float32Array(param.size);
      param.toPixels(q, x);
      let s = 0;
      for (let i = 0; i < x.length; i++) s += u[i]! * x[i]!;
      return s;
    };
    const eps = 1e-2;
    let worst = 0;
    let scale = 0;
    for (let i = 0; i < param.size; i += 7) {
      const q = Float32Array.from(p);
      q[i] = p[i]! + eps;
      const up = loss(q);
      q[i] = p[i]! - eps;
      const fd = (up - loss(q)) / (2 * eps);
      worst = Math.max(worst, Math.abs(fd - grad[i]!));
      scale = Math.max(scale, Math.abs(fd));
    }
    expect(scale).toBeGreaterThan(0.1);
    expect(worst).toBeLessThan(2e-3 * scale);
  });

  test('fromPixels inverts toPixels; pixels stay inside the picture range', () => {
    const p = randomVector(param.size, new Generator(2), 2);
    const x = new Float32Array(param.size);
    param.toPixels(p, x);
    const n = h * w;
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < n; i++) {
        const picture = x[c * n + i]! * STD[c]! + MEAN[c]!;
        expect(picture).toBeGreaterThan(0);
        expect(picture).toBeLessThan(1);
      }
    }
    const back = new Float32Array(param.size);
    param.toPixels(param.fromPixels(x), back);
    for (let i = 0; i < x.length; i++) expect(back[i]).toBeCloseTo(x[i]!, 3);
  });

  test('1/f scaling: a unit step in the lowest frequency moves the picture more than one in the highest', () => {
    const big = fourierParam(16, 16, MEAN, STD);
    const change = (index: number): number => {
      const zero = new Float32Array(big.size);
      const base = new Float32Array(big.size);
      big.toPixels(zero, base);
      const p = new Float32Array(big.size);
      p[index] = 0.1;
      const x = new Float32Array(big.size);
      big.toPixels(p, x);
      let s = 0;
      for (let i = 0; i < x.length; i++) s += (x[i]! - base[i]!) ** 2;
      return Math.sqrt(s);
    };
    // index 1: first horizontal frequency of colour component 0; 255: the highest (u = v = 15)
    expect(change(1)).toBeGreaterThan(5 * change(255));
    // decay 0 is a plain orthonormal basis: every frequency moves the picture alike
    const flat = fourierParam(16, 16, MEAN, STD, 0);
    const zero = new Float32Array(flat.size);
    const base = new Float32Array(flat.size);
    flat.toPixels(zero, base);
    const norms = [1, 255].map((k) => {
      const p = new Float32Array(flat.size);
      p[k] = 0.01;
      const x = new Float32Array(flat.size);
      flat.toPixels(p, x);
      return Math.hypot(...Array.from(x, (v, i) => v - base[i]!));
    });
    expect(norms[0]! / norms[1]!).toBeCloseTo(1, 1);
  });

  test('the pixel parametrisation is the identity', () => {
    const id = pixelParam(3, 4);
    const p = randomVector(id.size, new Generator(3), 1);
    const x = new Float32Array(id.size);
    id.toPixels(p, x);
    expect(Array.from(x)).toEqual(Array.from(p));
    const gr = new Float32Array(id.size);
    id.backward(p, x, gr);
    expect(Array.from(gr)).toEqual(Array.from(p));
  });
});
