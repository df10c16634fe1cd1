/** Adam (Kingma & Ba) over a fixed list of parameter arrays, updated in place. */
export class Adam {
  private readonly m: Float64Array[];
  private readonly v: Float64Array[];
  private t = 0;

  constructor(
    private readonly params: readonly Float64Array[],
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly epsilon = 1e-8,
  ) {
    this.m = params.map((p) => new Float64Array(p.length));
    this.v = params.map((p) => new Float64Array(p.length));
  }

  /** grads[k] must match params[k] in length. */
  step(grads: readonly Float64Array[], learningRate: number): void {
    this.t++;
    // Bias corrections folded into the step size, as in the paper's efficient form.
    const stepSize = (learningRate * Math.sqrt(1 - this.beta2 ** this.t)) / (1 - this.beta1 ** this.t);
    this.params.forEach((p, k) => this.update(p, grads[k]!, this.m[k]!, this.v[k]!, stepSize));
  }

  private update(p: Float64Array, g: Float64Array, m: Float64Array, v: Float64Array, stepSize: number): void {
    const { beta1, beta2, epsilon } = this;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i]!;
      const mi = beta1 * m[i]! + (1 - beta1) * gi;
      const vi = beta2 * v[i]! + (1 - beta2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] = p[i]! - (stepSize * mi) / (Math.sqrt(vi) + epsilon);
    }
  }
}
