/**
 * The chaos runner's client: a steady rate of POST /api/payments that records, per request, what it got:
 * the paymentId of every 202, every 503, and every request that got no answer at all (refused, reset,
 * timed out). Each request carries its own Idempotency-Key, so a request without an answer can be sent
 * again after recovery the way a careful client would, and so can one whose 202 the client never saw. Every 25th request pays an order that already
 * got a 202 again, which must never complete the order twice.
 */

export interface SentRequest {
  n: number;
  orderId: string;
  userId: string;
  idempotencyKey: string;
  /** A second payment attempt for an order that already got a 202. */
  repeatOrder: boolean;
  target: string;
  /** HTTP status, or null when no answer came. */
  status: number | null;
  paymentId?: string;
  error?: string;
  /** The answer to the same request sent again (same Idempotency-Key and body) after recovery. */
  retry?: Answer;
  /** A request that got its 202, sent again after recovery as a client that never saw the answer would. */
  again?: Answer;
}

/** What one sending of a request got back. */
export interface Answer {
  status: number | null;
  /** Of a 202. */
  paymentId?: string;
  replayed: boolean;
  /** error.code of a 4xx/5xx. */
  code?: string;
  /** The earlier payment a 409 names (error.paymentId). */
  namedPaymentId?: string;
  /** Why no answer came (ECONNREFUSED, TimeoutError, …). */
  error?: string;
}

const USERS = 100; // the demo wallets `npm run seed` funds
const REQUEST_TIMEOUT_MS = 10_000;

export class LoadClient {
  private n = 0;
  private records: SentRequest[] = [];
  private inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private rr = 0;
  private targets: string[] = [];

  constructor(
    private readonly runTag: string,
    private readonly rate: number,
    private readonly maxInFlight = 200,
  ) {}

  /** Base URLs the client spreads its requests over (round robin), as a load balancer that does not health-check would. */
  setTargets(urls: string[]): void {
    this.targets = [...urls];
  }

  start(): void {
    if (this.timer) return;
    const tickMs = 20;
    let credit = 0;
    let last = Date.now();
    this.timer = setInterval(() => {
      const now = Date.now();
      credit += ((now - last) / 1000) * this.rate;
      last = now;
      while (credit >= 1) {
        credit -= 1;
        if (this.inFlight.size >= this.maxInFlight) continue; // a full pipe sheds load rather than queueing it
        this.sendNext();
      }
    }, tickMs);
  }

  /** Stops sending and waits for the answers of requests still in flight. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.allSettled([...this.inFlight]);
  }

  /** Everything sent since the last take(), and a fresh list for the next scenario. */
  take(): SentRequest[] {
    const taken = this.records;
    this.records = [];
    return taken;
  }

  private sendNext(): void {
    const n = this.n++;
    const accepted = n % 25 === 24 ? this.records.filter((r) => r.status === 202 && !r.repeatOrder) : [];
    const repeatOrder = accepted.length > 0;
    const earlier = repeatOrder ? pick(accepted, n) : null;
    const record: SentRequest = {
      n,
      orderId: earlier?.orderId ?? `CHAOS-${this.runTag}-${n}`,
      userId: earlier?.userId ?? `USER-${String(1 + (n % USERS)).padStart(3, '0')}`,
      idempotencyKey: `chaos-${this.runTag}-${n}`,
      repeatOrder,
      target: '',
      status: null,
    };
    record.target = this.targets[this.rr++ % this.targets.length];
    this.records.push(record);
    const sending = this.send(record.target, record).then((answer) => {
      record.status = answer.status;
      if (answer.paymentId) record.paymentId = answer.paymentId;
      if (answer.error) record.error = answer.error;
    });
    this.inFlight.add(sending);
    void sending.finally(() => this.inFlight.delete(sending));
  }

  /** Sends one request again with the same Idempotency-Key and body (after recovery) and records the answer. */
  async retry(record: SentRequest, target: string): Promise<void> {
    record.retry = await this.send(target, record);
  }

  /** The same for a request that was answered 202: its answer goes to `again`, the first one stays. */
  async sendAgain(record: SentRequest, target: string): Promise<void> {
    record.again = await this.send(target, record);
  }

  private async send(target: string, record: SentRequest): Promise<Answer> {
    try {
      const response = await fetch(`${target}/api/payments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': record.idempotencyKey },
        body: JSON.stringify({ orderId: record.orderId, userId: record.userId, amount: '1.00', currency: 'USD' }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await response.text();
      let body: { paymentId?: string; error?: { code?: string; paymentId?: string } } = {};
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        // not JSON
      }
      return {
        status: response.status,
        paymentId: response.status === 202 ? body.paymentId : undefined,
        replayed: response.headers.get('idempotent-replayed') === 'true',
        code: body.error?.code,
        namedPaymentId: body.error?.paymentId,
      };
    } catch (error) {
      const cause = (error as Error & { cause?: { code?: string } }).cause;
      return { status: null, replayed: false, error: cause?.code ?? (error as Error).name };
    }
  }
}

function pick<T>(items: T[], n: number): T {
  return items[(n * 7919) % items.length];
}
