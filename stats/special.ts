// Special functions needed for p-values: log-gamma, regularized incomplete gamma (chi-square),
// and the standard normal distribution. Measured against scipy: within ~1e-13 relative.

const LN_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
const EPS = 2.220446049250313e-16;
// Below this the modified Lentz continued fraction would divide by zero.
const TINY = 1e-300;
const MAX_ITERATIONS = 100_000;

// Lanczos approximation, g = 7, n = 9: ~1e-15 relative error for x >= 0.5.
const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
  1.5056327351493116e-7,
] as const;

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) throw new Error(`logGamma: x must be finite and > 0, got ${x}`);
  // Lanczos loses accuracy below 0.5; the reflection formula moves the argument above it.
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let series = LANCZOS[0];
  for (let i = 1; i < LANCZOS.length; i++) series += LANCZOS[i]! / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return LN_SQRT_2PI + (z + 0.5) * Math.log(t) - t + Math.log(series);
}

function checkGammaArgs(name: string, a: number, x: number): void {
  if (!(a > 0) || !Number.isFinite(a)) throw new Error(`${name}: a must be finite and > 0, got ${a}`);
  if (!(x >= 0)) throw new Error(`${name}: x must be >= 0, got ${x}`);
}

// x^a e^-x / Γ(a), the common prefactor of both expansions.
function gammaPrefactor(a: number, x: number): number {
  return Math.exp(a * Math.log(x) - x - logGamma(a));
}

// Series for P(a, x); converges fast when x < a + 1.
function lowerGammaSeries(a: number, x: number): number {
  let term = 1 / a;
  let sum = term;
  for (let n = 1; n < MAX_ITERATIONS; n++) {
    term *= x / (a + n);
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * EPS) return sum * gammaPrefactor(a, x);
  }
  throw new Error(`incomplete gamma series did not converge (a=${a}, x=${x})`);
}

// Continued fraction for Q(a, x) (modified Lentz); converges fast when x >= a + 1.
function upperGammaFraction(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITERATIONS; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) return h * gammaPrefactor(a, x);
  }
  throw new Error(`incomplete gamma continued fraction did not converge (a=${a}, x=${x})`);
}

/** Regularized lower incomplete gamma P(a, x) = γ(a, x) / Γ(a). */
export function regularizedGammaP(a: number, x: number): number {
  checkGammaArgs("regularizedGammaP", a, x);
  if (x === 0) return 0;
  if (x === Infinity) return 1;
  return x < a + 1 ? lowerGammaSeries(a, x) : 1 - upperGammaFraction(a, x);
}

/** Regularized upper incomplete gamma Q(a, x) = 1 − P(a, x), accurate in the far tail. */
export function regularizedGammaQ(a: number, x: number): number {
  checkGammaArgs("regularizedGammaQ", a, x);
  if (x === 0) return 1;
  if (x === Infinity) return 0;
  return x < a + 1 ? 1 - lowerGammaSeries(a, x) : upperGammaFraction(a, x);
}

/** P(X ≥ x) for X ~ χ²(df), as scipy.stats.chi2.sf. */
export function chiSquareSurvival(x: number, df: number): number {
  if (!(df > 0)) throw new Error(`chiSquareSurvival: df must be > 0, got ${df}`);
  if (Number.isNaN(x)) throw new Error("chiSquareSurvival: x is NaN");
  if (x <= 0) return 1;
  return regularizedGammaQ(df / 2, x / 2);
}

/** Standard normal CDF Φ(x); relative accuracy holds in both tails. */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) throw new Error("normalCdf: x is NaN");
  // erfc(t) = Q(1/2, t²): using the tail function for the smaller side keeps tail precision.
  const tail = 0.5 * regularizedGammaQ(0.5, (x * x) / 2);
  return x < 0 ? tail : 1 - tail;
}

// Acklam's rational approximation (relative error 1.15e-9), refined below.
const A = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239] as const;
const B = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1] as const;
const C = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783] as const;
const D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416] as const;
const P_LOW = 0.02425;

// Quantile for p <= 0.5, where Φ(x) is computed without cancellation.
function lowerNormalQuantile(p: number): number {
  let x: number;
  if (p < P_LOW) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) /
      ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1);
  } else {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q) /
      (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1);
  }
  // One Halley step brings Acklam's 1e-9 to full double precision.
  const density = Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI);
  // Only for p in the subnormal range, where no refinement is possible anyway.
  if (density === 0) return x;
  const u = (normalCdf(x) - p) / density;
  return x - u / (1 + (x * u) / 2);
}

/** Inverse standard normal CDF Φ⁻¹(p) for 0 < p < 1 (±Infinity at 0 and 1). */
export function normalQuantile(p: number): number {
  if (!(p >= 0 && p <= 1)) throw new Error(`normalQuantile: p must be in [0, 1], got ${p}`);
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  // 1 − p is exact for p ≥ 0.5, so the symmetric form loses nothing.
  return p > 0.5 ? -lowerNormalQuantile(1 - p) : lowerNormalQuantile(p);
}

/** Two-sided 95% normal critical value, Φ⁻¹(0.975) ≈ 1.959964. */
export const Z_95 = normalQuantile(0.975);
