/**
 * Turns many concurrent single-item calls into few batch calls (group commit, as Kafka's linger.ms and
 * PostgreSQL's commit_delay do). Items submitted while a batch runs wait for it and then go together
 * in the next one, so the batch size grows with the load by itself, while an item submitted to an
 * idle coalescer waits only `lingerMs` (0: until the current event-loop turn ends).
 *
 * Batches run one at a time and in submission order, which keeps per-key order for callers that
 * submit in order (the producer relies on this for the order of one payer's events).
 */
export interface CoalescerOptions<I, O> {
  /** Largest number of items in one batch. */
  maxBatchSize: number;
  /** How long the first item of a batch waits for company; 0 waits only for the current event-loop turn. */
  lingerMs: number;
  /**
   * Runs one batch. Its results are per item, in order: a rejected result fails only its own item.
   * A throw fails every item of the batch.
   */
  run(items: I[]): Promise<PromiseSettledResult<O>[]>;
}

interface Pending<I, O> {
  item: I;
  resolve(value: O): void;
  reject(reason: unknown): void;
  /** Set when the caller gave up before the item was taken into a batch: it is then never run. */
  withdrawn: boolean;
}

/** The caller's signal fired before the item was taken into a batch; the item was never run. */
export class WithdrawnError extends Error {
  constructor(readonly reason: unknown) {
    super('Withdrawn before it was run');
    this.name = 'WithdrawnError';
  }
}

export class Coalescer<I, O> {
  private queue: Pending<I, O>[] = [];
  private running: Promise<void> | null = null;
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private batches = 0;
  private items = 0;

  constructor(private readonly options: CoalescerOptions<I, O>) {
    if (options.maxBatchSize < 1) throw new Error('maxBatchSize must be at least 1');
  }

  /**
   * Queues one item and resolves with its result. If `signal` aborts while the item still waits in
   * the queue, it is withdrawn (never run) and the promise rejects with a WithdrawnError.
   */
  submit(item: I, signal?: AbortSignal): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      if (signal?.aborted) return reject(new WithdrawnError(signal.reason));
      const pending: Pending<I, O> = { item, resolve, reject, withdrawn: false };
      signal?.addEventListener(
        'abort',
        () => {
          if (!this.queue.includes(pending)) return;
          pending.withdrawn = true;
          reject(new WithdrawnError(signal.reason));
        },
        { once: true },
      );
      this.queue.push(pending);
      this.schedule();
    });
  }

  /** Items waiting for a batch (for metrics and shutdown). */
  get waiting(): number {
    return this.queue.length;
  }

  /** Average items per batch so far: how much the coalescing saves. */
  get averageBatchSize(): number {
    return this.batches === 0 ? 0 : this.items / this.batches;
  }

  /** Resolves once everything submitted so far has run. */
  async drain(): Promise<void> {
    while (this.running || this.queue.length > 0) {
      if (!this.running) this.start();
      await this.running;
    }
  }

  private schedule(): void {
    // A running batch takes the queue when it finishes; a scheduled start is already coming.
    if (this.running || this.timer) return;
    if (this.queue.length >= this.options.maxBatchSize) return this.start();
    this.timer =
      this.options.lingerMs > 0 ? setTimeout(() => this.start(), this.options.lingerMs) : setImmediate(() => this.start());
  }

  private start(): void {
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = null;
    }
    if (this.running) return;
    this.running = this.loop().finally(() => {
      this.running = null;
      // Items that arrived after the loop's last look start their own batch.
      if (this.queue.length > 0) this.schedule();
    });
  }

  private async loop(): Promise<void> {
    for (;;) {
      const batch = this.take();
      if (batch.length === 0) return;
      this.batches++;
      this.items += batch.length;
      let results: PromiseSettledResult<O>[];
      try {
        results = await this.options.run(batch.map((pending) => pending.item));
        if (results.length !== batch.length) throw new Error(`Batch returned ${results.length} results for ${batch.length} items`);
      } catch (error) {
        for (const pending of batch) pending.reject(error);
        continue;
      }
      batch.forEach((pending, i) => {
        const result = results[i];
        if (result.status === 'fulfilled') pending.resolve(result.value);
        else pending.reject(result.reason);
      });
    }
  }

  private take(): Pending<I, O>[] {
    let batch: Pending<I, O>[] = [];
    while (batch.length === 0 && this.queue.length > 0) {
      batch = this.queue.splice(0, this.options.maxBatchSize).filter((pending) => !pending.withdrawn);
    }
    return batch;
  }
}
