/**
 * erf in float64 to a few units in the last place, with no fitted constants: below 0.5 its Maclaurin
 * series; up to 6 a Taylor polynomial about the nearest centre 0.25 + 0.5k (|t| ≤ 0.25), whose
 * coefficients follow from erf⁽ⁿ⁺¹⁾(c) = (2/√π)(−1)ⁿ Hₙ(c) e^(−c²) (physicists' Hermite polynomials);
 * beyond 6, erf rounds to ±1 in float64. The centre values come from the all-positive series
 * erf(c) = (2/√π) e^(−c²) Σ (2c²)ⁿ c / (2n+1)!!, which has no cancellation.
 */

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
/** Taylor terms per centre: (1/4)²³/23! times the largest derivative is below 1e-17. */
const TERMS = 24;
const CENTRES = 12;

function erfAtCentre(c: number): number {
  let term = c;
  let total = 0;
  for (let n = 0; n < 400 && term > total * 1e-18; n++) {
    total += term;
    term *= (2 * c * c) / (2 * n + 3);
  }
  return TWO_OVER_SQRT_PI * Math.exp(-c * c) * total;
}

/** MACLAURIN[n] = (2/√π)(−1)ⁿ / (n! (2n+1)): erf(x) = x · Σ MACLAURIN[n] x²ⁿ. */
const MACLAURIN = new Float64Array(15);
for (let n = 0, f = 1; n < MACLAURIN.length; n++, f *= n) MACLAURIN[n] = (TWO_OVER_SQRT_PI * (n % 2 === 0 ? 1 : -1)) / (f * (2 * n + 1));

/** coefficients[k][n] = erf⁽ⁿ⁾(c_k)/n! for centre c_k = 0.25 + 0.5k. */
const coefficients: Float64Array[] = [];
for (let k = 0; k < CENTRES; k++) {
  const c = 0.25 + 0.5 * k;
  const a = new Float64Array(TERMS);
  a[0] = erfAtCentre(c);
  const g = TWO_OVER_SQRT_PI * Math.exp(-c * c);
  let hPrev = 0;
  let h = 1; // H_0
  let factorial = 1;
  for (let n = 0; n + 1 < TERMS; n++) {
    factorial *= n + 1;
    a[n + 1] = ((n % 2 === 0 ? 1 : -1) * g * h) / factorial;
    const next = 2 * c * h - 2 * n * hPrev;
    hPrev = h;
    h = next;
  }
  coefficients.push(a);
}

/** 1/√(2π), the normal density's factor (GELU's slope). */
export const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

let tables: Float64Array | null = null;
/**
 * The tables erf reads, for the WebAssembly module's copy of it (gemm_f32.c's erf_tables): the 15 Maclaurin terms,
 * the 12 centres' 24 Taylor terms each, then √½ and 1/√(2π) (GELU's constants).
 */
export function erfTables(): Float64Array {
  if (tables === null) {
    tables = new Float64Array(MACLAURIN.length + CENTRES * TERMS + 2);
    tables.set(MACLAURIN);
    coefficients.forEach((a, k) => tables!.set(a, MACLAURIN.length + k * TERMS));
    tables[tables.length - 2] = Math.SQRT1_2;
    tables[tables.length - 1] = INV_SQRT_2PI;
  }
  return tables;
}

/** The error function erf(x) = (2/√π) ∫₀ˣ e^(−t²) dt; NaN stays NaN. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 0.5) {
    // Σ (−1)ⁿ x²ⁿ⁺¹ / (n! (2n+1)), 15 terms for x² ≤ 1/4.
    const z = x * x;
    let s = 0;
    for (let n = MACLAURIN.length - 1; n >= 0; n--) s = s * z + MACLAURIN[n]!;
    return x * s;
  }
  if (!(ax < 6)) return ax !== ax ? x : x > 0 ? 1 : -1;
  const k = Math.min(CENTRES - 1, Math.floor(ax * 2));
  const a = coefficients[k]!;
  const t = ax - (0.25 + 0.5 * k);
  let s = 0;
  for (let n = TERMS - 1; n >= 0; n--) s = s * t + a[n]!;
  s = Math.min(s, 1); // rounding near 6 must not step past the bound
  return x < 0 ? -s : s;
}
