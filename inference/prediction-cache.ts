/**
 * Answers of deterministic versions by (model, version, feature hash), bounded by entry count and
 * evicting the least recently used. A Map iterates in insertion order, so re-inserting on a hit
 * keeps the coldest entry first. Any traffic change of a model drops that model's entries: what a
 * key answers must never outlive a change of who answers.
 */
export class PredictionCache {
  private readonly entries = new Map<string, Float32Array>();

  constructor(private readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`maxEntries must be a positive integer, got ${maxEntries}`);
  }

  get size(): number {
    return this.entries.size;
  }

  get(model: string, version: string, featureHash: string): Float32Array | undefined {
    const key = keyOf(model, version, featureHash);
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  /** Stores a copy: a batch's output is one buffer, which a view would keep alive whole. */
  set(model: string, version: string, featureHash: string, probabilities: Float32Array): void {
    const key = keyOf(model, version, featureHash);
    this.entries.delete(key);
    this.entries.set(key, probabilities.slice());
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  invalidate(model: string): void {
    const prefix = `${model}\u0000`;
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.entries.delete(key);
  }
}

function keyOf(model: string, version: string, featureHash: string): string {
  return `${model}\u0000${version}\u0000${featureHash}`;
}
