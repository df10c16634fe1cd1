/**
 * Dynamic micro-batching: rows submitted within a short window run as one session call. An
 * onnxruntime call has a fixed cost that dwarfs the per-row cost of these small models, so under
 * concurrency a batch of many requests costs about as much as one.
 */
export type RunBatch = (input: Float32Array, rows: number) => Promise<Float32Array>;

interface Pending {
  input: Float32Array;
  rows: number;
  resolve(output: Float32Array): void;
  reject(err: unknown): void;
}

export interface BatcherOptions {
  width: number;
  outputs: number;
  /** How long the first request of a batch waits for company; 0 means until the current I/O turn ends. */
  windowMs: number;
  maxRows: number;
}

export class MicroBatcher {
  private pending: Pending[] = [];
  private pendingRows = 0;
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;

  constructor(
    private readonly run: RunBatch,
    private readonly options: BatcherOptions,
  ) {}

  submit(input: Float32Array, rows: number): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      this.pending.push({ input, rows, resolve, reject });
      this.pendingRows += rows;
      if (this.pendingRows >= this.options.maxRows) this.flushNow();
      else if (!this.timer) this.schedule();
    });
  }

  private schedule(): void {
    this.timer = this.options.windowMs > 0 ? setTimeout(() => this.flushNow(), this.options.windowMs) : setImmediate(() => this.flushNow());
  }

  private flushNow(): void {
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = undefined;
    }
    const batch = this.pending;
    const rows = this.pendingRows;
    this.pending = [];
    this.pendingRows = 0;
    if (batch.length > 0) void this.execute(batch, rows);
  }

  private async execute(batch: Pending[], rows: number): Promise<void> {
    const { width, outputs } = this.options;
    try {
      const input = batch.length === 1 ? batch[0]!.input : concat(batch, rows, width);
      const output = await this.run(input, rows);
      let offset = 0;
      for (const p of batch) {
        p.resolve(output.subarray(offset * outputs, (offset + p.rows) * outputs));
        offset += p.rows;
      }
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }
}

function concat(batch: Pending[], rows: number, width: number): Float32Array {
  const input = new Float32Array(rows * width);
  let offset = 0;
  for (const p of batch) {
    input.set(p.input, offset);
    offset += p.input.length;
  }
  return input;
}
