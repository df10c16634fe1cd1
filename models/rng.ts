/**
 * A small seeded PRNG (mulberry32). Everything random in training and in the generators draws
 * from one of these, so a seed alone reproduces a dataset, a split or a trained model.
 */
export class Rng {
  private state: number;
  /** Box-Muller yields normals in pairs; keeping the second halves the cost of normal(). */
  private spareNormal: number | null = null;

  constructor(seed: number) {
    // Scrambling the seed keeps neighbouring seeds (1, 2, 3…) from starting on similar streams.
    this.state = mix32(Math.trunc(seed) >>> 0);
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform in [min, max). */
  uniform(min = 0, max = 1): number {
    return min + (max - min) * this.next();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  normal(mean = 0, sd = 1): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return mean + sd * z;
    }
    // 1 - next() is in (0, 1], so the log never sees 0.
    const radius = Math.sqrt(-2 * Math.log(1 - this.next()));
    const angle = 2 * Math.PI * this.next();
    this.spareNormal = radius * Math.sin(angle);
    return mean + sd * radius * Math.cos(angle);
  }

  /** Poisson count by Knuth's product method: fine for the small means the generators use. */
  poisson(mean: number): number {
    const limit = Math.exp(-mean);
    let k = 0;
    let product = this.next();
    while (product > limit) {
      k++;
      product *= this.next();
    }
    return k;
  }

  /** Gamma(shape, 1) by Marsaglia and Tsang; a shape below 1 is boosted by U^(1/shape). */
  gamma(shape: number): number {
    if (shape < 1) return this.gamma(shape + 1) * Math.pow(1 - this.next(), 1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      const x = this.normal();
      const v = (1 + c * x) ** 3;
      if (v <= 0) continue;
      const u = 1 - this.next();
      if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
    }
  }

  /** Beta(a, b) as the ratio of two gammas. */
  beta(a: number, b: number): number {
    const x = this.gamma(a);
    return x / (x + this.gamma(b));
  }

  /** Index drawn with probability proportional to its weight (weights need not sum to 1). */
  choice(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let target = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      target -= weights[i] ?? 0;
      if (target < 0) return i;
    }
    // Rounding can leave target at a hair above 0: fall back to the last positive weight.
    return lastPositive(weights);
  }

  /** Fisher-Yates, in place; returns the same array for chaining. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }
}

/**
 * A seed for one purpose ("split", "init"…) derived from a user seed, so the streams used by
 * different steps are independent and adding a draw in one step does not shift the others.
 */
export function subSeed(seed: number, purpose: string): number {
  let h = mix32(Math.trunc(seed) >>> 0);
  for (let i = 0; i < purpose.length; i++) h = mix32(h ^ purpose.charCodeAt(i));
  return h;
}

/** The murmur3 finalizer: a cheap bijective avalanche on 32 bits. */
function mix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function lastPositive(weights: readonly number[]): number {
  for (let i = weights.length - 1; i >= 0; i--) if ((weights[i] ?? 0) > 0) return i;
  throw new Error("choice: weights must contain a positive value");
}
