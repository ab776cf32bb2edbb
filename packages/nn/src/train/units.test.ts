import { tensor } from '@gradlens/tensor';
import { Adam, SGD } from './optim';
import { formatDuration } from './progress';

describe('optimiser arithmetic', () => {
  test('float64 parameters are updated in double precision (no float32 rounding)', () => {
    const p = tensor([0.1, -0.2], undefined, 'float64');
    const g = tensor([0.3, 0.7], undefined, 'float64');
    const opt = new SGD([p], { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 });
    opt.step([g]);
    const d = [0.3 + 0.01 * 0.1, 0.7 + 0.01 * -0.2];
    const expected = [0.1 - 0.1 * (d[0]! + 0.9 * d[0]!), -0.2 - 0.1 * (d[1]! + 0.9 * d[1]!)];
    expect(Array.from(p.values())).toEqual(expected);
    p.dispose();
    g.dispose();
  });

  test("Adam's first step moves each parameter by about lr against the gradient's sign", () => {
    const p = tensor([1, 1, 1]);
    const g = tensor([5, -0.01, 0]);
    new Adam([p], { lr: 0.1 }).step([g]);
    const v = Array.from(p.values());
    expect(v[0]).toBeCloseTo(0.9, 6);
    expect(v[1]).toBeCloseTo(1.1, 5);
    expect(v[2]).toBe(1);
    p.dispose();
    g.dispose();
  });
});

test('formatDuration', () => {
  expect(formatDuration(4.4)).toBe('4s');
  expect(formatDuration(185)).toBe('3m05s');
  expect(formatDuration(3720)).toBe('1h02m');
  expect(formatDuration(NaN)).toBe('?');
});
