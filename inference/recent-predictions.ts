export interface RecentPrediction {
  model: string;
  version: string;
  predicted: string;
}

/**
 * Request id → what was answered, for the newest predictions. Labels usually follow soon after the
 * prediction, often before the log writer's flush, so most feedback joins here without a query.
 * Bounded: Map keeps insertion order, so the oldest entry is evicted first.
 */
export class RecentPredictions {
  private readonly entries = new Map<string, RecentPrediction>();

  constructor(private readonly capacity = 200_000) {}

  add(requestId: string, p: RecentPrediction): void {
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(requestId, p);
  }

  get(requestId: string): RecentPrediction | undefined {
    return this.entries.get(requestId);
  }
}
