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
  /** Largest batch, in items, or in `sizeOf` units (a batch holds at least one item whatever its size). */
  maxBatchSize: number;
  /** The size of one item (default 1), e.g. the events of a chunk. */
  sizeOf?: (item: I) => number;
  /** How long the first item of a batch waits for company; 0 waits only for the current event-loop turn. */
  lingerMs: number;
  /**
   * Runs one batch. Its results are per item, in order: a rejected result fails only its own item.
   * A throw fails every item of the batch.
   */
  run(items: I[]): Promise<PromiseSettledResult<O>[]>;
}

/** Lets a caller give up on an item: if it is still queued when a batch is taken, it is never run. */
export interface WithdrawTicket {
  withdrawn: boolean;
}

interface Pending<I, O> {
  item: I;
  resolve(value: O): void;
  reject(reason: unknown): void;
  ticket?: WithdrawTicket;
}

/** The caller withdrew the item before it was taken into a batch; it was never run. */
export class WithdrawnError extends Error {
  constructor() {
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
   * Queues one item and resolves with its result. If the caller sets `ticket.withdrawn` while the
   * item still waits in the queue, it is never run and the promise rejects with a WithdrawnError.
   * (A plain flag, not an AbortSignal: this is on the path of every payment.)
   */
  submit(item: I, ticket?: WithdrawTicket): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject, ticket });
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
    const batch: Pending<I, O>[] = [];
    const sizeOf = this.options.sizeOf ?? (() => 1);
    let size = 0;
    while (this.queue.length > 0) {
      const pending = this.queue[0];
      if (pending.ticket?.withdrawn) {
        this.queue.shift();
        pending.reject(new WithdrawnError());
        continue;
      }
      const itemSize = sizeOf(pending.item);
      if (batch.length > 0 && size + itemSize > this.options.maxBatchSize) break;
      this.queue.shift();
      batch.push(pending);
      size += itemSize;
    }
    return batch;
  }
}
