const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;

/**
 * When the log writer's flush passes run: one at a time; every `intervalMs` while there is
 * something to insert; soon after a segment closes; and after a failed pass, again with backoff
 * (100 ms doubling to 5 s). While in backoff only an explicit `run()` starts a pass sooner, so an
 * outage of the store costs one insert attempt per backoff step, not one per closed segment.
 */
export class FlushScheduler {
  private readonly timer: NodeJS.Timeout;
  private retryTimer: NodeJS.Timeout | undefined;
  private backoffMs = FIRST_BACKOFF_MS;
  private soonScheduled = false;
  /** Passes run one after another on this chain; it never rejects. */
  private tail: Promise<void> = Promise.resolve();
  /** A pass on the chain that has not started yet: callers arriving now share it. */
  private queued: Promise<void> | undefined;
  private running = false;
  private stopped = false;

  /**
   * `pass` inserts what it can and resolves true when everything went in (false: retry with
   * backoff); it must never reject. `hasWork` tells the periodic timer whether to start one.
   */
  constructor(
    intervalMs: number,
    private readonly pass: () => Promise<boolean>,
    private readonly hasWork: () => boolean,
  ) {
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  /** The next pass, whatever the backoff; callers arriving before it starts share it. */
  run(): Promise<void> {
    if (this.queued) return this.queued;
    const next: Promise<void> = this.tail.then(() => {
      if (this.queued === next) this.queued = undefined;
      return this.runPass();
    });
    this.queued = next;
    this.tail = next;
    return next;
  }

  /** A pass soon, off the caller's stack, unless in backoff (the retry will come). */
  soon(): void {
    if (this.soonScheduled || this.retryTimer || this.stopped) return;
    this.soonScheduled = true;
    setImmediate(() => {
      this.soonScheduled = false;
      if (!this.stopped && !this.retryTimer) void this.run();
    });
  }

  /** No periodic pass and no retry from now on; `run()` still runs one (the last, at close). */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.cancelRetry();
  }

  private tick(): void {
    if (this.running || this.retryTimer || this.stopped) return;
    if (this.hasWork()) void this.run();
  }

  private async runPass(): Promise<void> {
    this.running = true;
    this.cancelRetry();
    const ok = await this.pass();
    if (ok) this.backoffMs = FIRST_BACKOFF_MS;
    else this.retryLater();
    this.running = false;
  }

  private retryLater(): void {
    if (this.stopped || this.retryTimer) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.run();
    }, delay);
    this.retryTimer.unref();
  }

  private cancelRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }
}
