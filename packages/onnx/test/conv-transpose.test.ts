import * as fs from 'fs';
import * as path from 'path';
import { Generator, grad, randn, sum, Tensor, tidy, zeros } from '@gradlens/tensor';
import { readNpy } from '@gradlens/io';
import { loadOnnx } from '@gradlens/onnx';
import type { AttrValue } from './op-harness';
import { relError, runOp } from './op-harness';

// A tiny decoder of nn.ConvTranspose2d layers exported by torch.onnx (scripts/make-onnx-convtranspose-fixture.py,
// seed 0): stride 2 with output_padding 1, groups 2 with dilation 2, an uneven kernel and stride without
// bias. The importer's output and the gradient of output.sum() with respect to the input match PyTorch's.
const FIXTURES = path.join(__dirname, 'fixtures');
const meta = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'conv_transpose.json'), 'utf8')) as { shape: number[]; outputShape: number[] };
const npy = (what: string): Float32Array => readNpy(path.join(FIXTURES, `conv_transpose.${what}.npy`)).data as Float32Array;

describe('nn.ConvTranspose2d layers exported by torch.onnx', () => {
  const model = loadOnnx(path.join(FIXTURES, 'conv_transpose.onnx'));
  const x = () => new Tensor(Float32Array.from(npy('input')), meta.shape, 'float32');

  it('gives PyTorch’s output (≤ 1e-4 relative)', () => {
    tidy(() => {
      const y = model.call(x());
      expect(y.shape).toEqual(meta.outputShape);
      expect(relError(y.values(), npy('output'))).toBeLessThan(1e-4);
    });
  });

  it('gives PyTorch’s gradient of output.sum() with respect to the input (≤ 1e-4 relative)', () => {
    tidy(() => {
      const [g] = grad((input) => sum(model.call(input)), [x()]);
      expect(g!.shape).toEqual(meta.shape);
      expect(relError(g!.values(), npy('gradient'))).toBeLessThan(1e-4);
    });
  });
});

const run = (values: (Tensor | null)[], attrs: Record<string, AttrValue> = {}): Tensor =>
  runOp('ConvTranspose', values, attrs)[0] as Tensor;
const is = (...v: number[]): AttrValue => ({ ints: v });

/**
 * The spec's definition written out: every input pixel scatters its kernel-weighted values to
 * out[i·stride + k·dilation − pad_begin] (1-D as a unit height). Output sizes and pads from the spec's equations.
 */
function scatter(
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  a: { strides: number[]; dilations: number[]; group: number; begin: number[]; out: number[] },
): Tensor {
  const one = x.rank === 3;
  const [n, cin, ih, iw] = one ? [x.shape[0]!, x.shape[1]!, 1, x.shape[2]!] : (x.shape as [number, number, number, number]);
  const [coutg, kh, kw] = one ? [w.shape[1]!, 1, w.shape[2]!] : [w.shape[1]!, w.shape[2]!, w.shape[3]!];
  const lift = (v: number[], unit: number) => (one ? [unit, ...v] : v);
  const [sh, sw] = lift(a.strides, 1) as [number, number];
  const [dh, dw] = lift(a.dilations, 1) as [number, number];
  const [bh, bw] = lift(a.begin, 0) as [number, number];
  const [oh, ow] = lift(a.out, 1) as [number, number];
  const cout = coutg * a.group;
  const xv = x.values();
  const wv = w.values();
  const out = new Float64Array(n * cout * oh * ow);
  for (let i = 0; i < n; i++)
    for (let oc = 0; oc < cout; oc++) for (let p = 0; p < oh * ow; p++) out[(i * cout + oc) * oh * ow + p] = b ? b.values()[oc]! : 0;
  for (let i = 0; i < n; i++)
    for (let ic = 0; ic < cin; ic++) {
      const g = Math.floor(ic / (cin / a.group));
      for (let o = 0; o < coutg; o++)
        for (let y = 0; y < ih; y++)
          for (let xx = 0; xx < iw; xx++)
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++) {
                const oy = y * sh + ky * dh - bh;
                const ox = xx * sw + kx * dw - bw;
                if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
                const at = ((i * cout + g * coutg + o) * oh + oy) * ow + ox;
                out[at] = out[at]! + xv[((i * cin + ic) * ih + y) * iw + xx]! * wv[((ic * coutg + o) * kh + ky) * kw + kx]!;
              }
    }
  return new Tensor(out, [n, cout, ...(one ? [ow] : [oh, ow])], 'float64');
}

describe('ConvTranspose as the spec defines it', () => {
  const gen = new Generator(5);
  const rn = (...shape: number[]) => randn(shape, { dtype: 'float64', generator: gen });
  const cases: {
    label: string;
    x: number[];
    w: number[];
    bias: boolean;
    attrs: Record<string, AttrValue>;
    want: Parameters<typeof scatter>[3];
  }[] = [
    {
      label: 'strides, output_padding, asymmetric pads, dilation, groups',
      x: [2, 4, 3, 4],
      w: [4, 3, 2, 3],
      bias: true,
      attrs: { strides: is(2, 3), output_padding: is(1, 2), pads: is(1, 0, 0, 2), dilations: is(1, 2), group: { i: 2 } },
      // full 2·2 + 1 + 1 + 1 = 7 and 3·3 + 2 + 4 + 1 = 16, less the pads
      want: { strides: [2, 3], dilations: [1, 2], group: 2, begin: [1, 0], out: [6, 14] },
    },
    {
      label: 'SAME_LOWER without output_shape (the odd padding at the beginning)',
      x: [1, 2, 3, 3],
      w: [2, 2, 3, 3],
      bias: false,
      attrs: { auto_pad: { s: 'SAME_LOWER' }, strides: is(2, 2), dilations: is(2, 2) },
      // full 2·2 + 4 + 1 = 9, output 6: total 3 split 2 before, 1 after
      want: { strides: [2, 2], dilations: [2, 2], group: 1, begin: [2, 2], out: [6, 6] },
    },
    {
      label: 'output_shape past the full size (zeros on both sides), pads ignored',
      x: [1, 1, 3, 2],
      w: [1, 2, 2, 2],
      bias: true,
      attrs: { strides: is(2, 2), pads: is(1, 1, 1, 1), output_shape: is(1, 2, 8, 7) },
      // full 6 and 4: totals −2 and −3 split with floor division as the reference does, the odd one at the end
      want: { strides: [2, 2], dilations: [1, 1], group: 1, begin: [-1, -1], out: [8, 7] },
    },
    {
      label: 'pads cropping past the dilated kernel',
      x: [1, 2, 4, 3],
      w: [2, 1, 2, 2],
      bias: false,
      attrs: { strides: is(3, 1), pads: is(3, 0, 2, 1) },
      want: { strides: [3, 1], dilations: [1, 1], group: 1, begin: [3, 0], out: [6, 3] },
    },
    {
      label: '1-D with groups, stride, pads and output_padding',
      x: [2, 3, 5],
      w: [3, 2, 3],
      bias: true,
      attrs: { strides: is(3), pads: is(2, 1), output_padding: is(2), group: { i: 3 } },
      want: { strides: [3], dilations: [1], group: 3, begin: [2], out: [14] },
    },
  ];
  for (const c of cases)
    it(c.label, () => {
      tidy(() => {
        const x = rn(...c.x);
        const w = rn(...c.w);
        const b = c.bias ? rn(c.w[1]! * c.want.group) : null;
        const want = scatter(x, w, b, c.want);
        const got = run([x, w, b], c.attrs);
        expect(got.shape).toEqual(want.shape);
        expect(relError(got.values(), want.values())).toBeLessThan(1e-12);
      });
    });
});

describe('ConvTranspose on bad input: one line each', () => {
  const x = (...shape: number[]) => zeros(shape);
  it.each([
    [
      'weight channels that are not the input’s',
      [x(1, 3, 4, 4), x(2, 2, 3, 3)],
      {},
      /^weight \[2, 2, 3, 3\] is for 2 input channels, but the input \[1, 3, 4, 4\] has 3$/,
    ],
    [
      'a group that does not divide the channels',
      [x(1, 3, 4, 4), x(3, 1, 3, 3)],
      { group: { i: 2 } },
      /^group 2 does not divide the input's 3 channels$/,
    ],
    [
      'a kernel_shape not the weight’s',
      [x(1, 2, 4, 4), x(2, 1, 3, 3)],
      { kernel_shape: is(2, 2) },
      /^kernel_shape \[2, 2\] does not match the weight \[2, 1, 3, 3\]$/,
    ],
    [
      'an output_shape too small',
      [x(1, 1, 3, 3), x(1, 1, 3, 3)],
      { strides: is(2, 2), output_shape: is(0, 4) },
      /^the output would be \[0, 4\]: output_shape or pads too large for input \[1, 1, 3, 3\]$/,
    ],
    ['pads that crop everything', [x(1, 1, 1, 1), x(1, 1, 3, 3)], { pads: is(2, 0, 2, 0) }, /^the output would be \[-1, 3\]/],
    [
      'strides for the wrong number of axes',
      [x(1, 1, 3, 3), x(1, 1, 3, 3)],
      { strides: is(2) },
      /^strides \[2\] must hold 2 values, one per spatial axis$/,
    ],
    ['a bias of the wrong size', [x(1, 2, 3, 3), x(2, 2, 3, 3), x(3)], {}, /^bias \[3\] does not match the 2 output channels$/],
    [
      'a 3-D convolution',
      [x(1, 1, 3, 3, 3), x(1, 1, 2, 2, 2)],
      {},
      /^ConvTranspose on a 5-D input \[1, 1, 3, 3, 3\]: gradlens supports the 1-D and 2-D \(3-D and 4-D input\) forms$/,
    ],
  ] as [string, Tensor[], Record<string, AttrValue>, RegExp][])('refuses %s', (_label, values, attrs, message) => {
    tidy(() => expect(() => run(values, attrs)).toThrow(message));
  });
});
