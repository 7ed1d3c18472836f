/**
 * The payment load of the e2e suites, `npm run chaos` and `npm run bench`: POST /api/payments of 1.00
 * USD, orders `<orderPrefix><n>`, payers taken in turn.
 *
 * PaymentLoad records, per request, what it got: the paymentId of every 202, every other status, and
 * every request that got no answer at all (refused, reset, timed out). Its pace is either open (a
 * fixed rate, whatever the answers: chaos) or closed (a few clients sending back to back: failover
 * suites). With an Idempotency-Key prefix, a request without an answer can be sent again after
 * recovery the way a careful client would, and so can one whose 202 the client never saw; with
 * `repeatOrderEvery`, that often a request pays an order that already got a 202 again, which must
 * never complete the order twice.
 *
 * tools/throughput-load.ts is the same load for throughput (the bench), where per-request records
 * would cost more than the intake they measure.
 */
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';

export interface SentRequest {
  n: number;
  orderId: string;
  userId: string;
  idempotencyKey?: string;
  /** A second payment attempt for an order that already got a 202. */
  repeatOrder: boolean;
  target: string;
  /** HTTP status, or null when no answer came. */
  status: number | null;
  /** When the answer came (ms since the epoch). */
  answeredAt?: number;
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

export type LoadPace =
  /** Open loop: `rate` requests per second; a full pipe (`maxInFlight` waiting, 200) sheds load rather than queueing it. */
  | { rate: number; maxInFlight?: number }
  /** Closed loop: `concurrency` clients, each sending when its last request was answered. */
  | { concurrency: number };

export interface PaymentLoadOptions {
  /** Base URLs taken in turn (round robin), as a load balancer that does not health-check would. */
  targets: string[];
  /** Funded payers, taken in turn. */
  payers: string[];
  pace: LoadPace;
  /** Default `LOAD-<uuid>-`: orders of their own for every load. */
  orderPrefix?: string;
  /** Each request carries the Idempotency-Key `<prefix><n>`; none without it. */
  idempotencyKeyPrefix?: string;
  /** Every nth request pays an order that already got a 202 again. */
  repeatOrderEvery?: number;
}

/** The wallets `npm run seed` funds: USER-001 to USER-100. */
export const DEMO_PAYERS = Array.from({ length: 100 }, (_, i) => `USER-${String(i + 1).padStart(3, '0')}`);

const REQUEST_TIMEOUT_MS = 10_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class PaymentLoad {
  /** 202s and other answers per second of the run (by when the request was sent), to see a failover's dip. */
  readonly timeline: { at: number; accepted: number; other: number }[] = [];
  private n = 0;
  private records: SentRequest[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  private timer: NodeJS.Timeout | null = null;
  private loops: Promise<void>[] = [];
  private running = false;
  private started = 0;
  private rr = 0;
  private targets: string[];
  private readonly orderPrefix: string;

  constructor(private readonly options: PaymentLoadOptions) {
    this.targets = [...options.targets];
    this.orderPrefix = options.orderPrefix ?? `LOAD-${randomUUID()}-`;
  }

  setTargets(urls: string[]): void {
    this.targets = [...urls];
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.started = Date.now();
    const pace = this.options.pace;
    if ('concurrency' in pace) {
      this.loops = Array.from({ length: pace.concurrency }, () => this.closedLoop());
      return;
    }
    const maxInFlight = pace.maxInFlight ?? 200;
    let credit = 0;
    let last = Date.now();
    this.timer = setInterval(() => {
      const now = Date.now();
      credit += ((now - last) / 1000) * pace.rate;
      last = now;
      while (credit >= 1) {
        credit -= 1;
        if (this.inFlight.size >= maxInFlight) continue;
        const sending = this.sendNext();
        this.inFlight.add(sending);
        void sending.finally(() => this.inFlight.delete(sending));
      }
    }, 20);
  }

  /** Stops sending and waits for the answers of requests still in flight. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.all(this.loops);
    await Promise.allSettled([...this.inFlight]);
  }

  /** Everything sent since the last take(), and a fresh list for the next scenario. */
  take(): SentRequest[] {
    const taken = this.records;
    this.records = [];
    return taken;
  }

  /** The 202s so far: what the service promised. */
  get accepted(): { paymentId: string; userId: string; amountMinor: number; acceptedAt: number }[] {
    return this.records.flatMap((r) => (r.status === 202 && r.paymentId ? [{ paymentId: r.paymentId, userId: r.userId, amountMinor: 100, acceptedAt: r.answeredAt ?? 0 }] : []));
  }

  get count(): number {
    return this.accepted.length;
  }

  /** Answers by status (`error:<why>` for none). */
  get statuses(): Map<string, number> {
    const statuses = new Map<string, number>();
    for (const r of this.records) {
      const key = r.status === null ? `error:${r.error}` : String(r.status);
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
    }
    return statuses;
  }

  summary(): string {
    const timeline = [...this.timeline].map((s) => (s ? `${s.accepted}${s.other ? `/${s.other}!` : ''}` : '0')).join(' ');
    return `answers ${JSON.stringify(Object.fromEntries(this.statuses))}; 202s per second (/non-202!): ${timeline}`;
  }

  private async closedLoop(): Promise<void> {
    while (this.running) {
      const record = await this.sendNext();
      // As a client honouring Retry-After would, briefly.
      if (record.status === null || record.status >= 500) await sleep(100);
    }
  }

  private async sendNext(): Promise<SentRequest> {
    const n = this.n++;
    const every = this.options.repeatOrderEvery;
    const accepted = every && n % every === every - 1 ? this.records.filter((r) => r.status === 202 && !r.repeatOrder) : [];
    const earlier = accepted.length > 0 ? accepted[(n * 7919) % accepted.length] : null;
    const record: SentRequest = {
      n,
      orderId: earlier?.orderId ?? `${this.orderPrefix}${n}`,
      userId: earlier?.userId ?? this.options.payers[n % this.options.payers.length],
      ...(this.options.idempotencyKeyPrefix !== undefined && { idempotencyKey: `${this.options.idempotencyKeyPrefix}${n}` }),
      repeatOrder: earlier !== null,
      target: this.targets[this.rr++ % this.targets.length],
      status: null,
    };
    this.records.push(record);
    const second = Math.floor((Date.now() - this.started) / 1000);
    const answer = await this.send(record.target, record);
    record.status = answer.status;
    record.answeredAt = Date.now();
    if (answer.paymentId) record.paymentId = answer.paymentId;
    if (answer.error) record.error = answer.error;
    const slot = (this.timeline[second] ??= { at: second, accepted: 0, other: 0 });
    if (answer.status === 202) slot.accepted++;
    else slot.other++;
    return record;
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
        headers: { 'content-type': 'application/json', ...(record.idempotencyKey && { 'idempotency-key': record.idempotencyKey }) },
        body: paymentBody(record.orderId, record.userId),
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

/** The body of every load's payment: 1.00 USD. */
export function paymentBody(orderId: string, userId: string): string {
  return JSON.stringify({ orderId, amount: '1.00', currency: 'USD', userId });
}

/** Of these payment ids, the ones without a row in PostgreSQL (a row is written when a payment ends). */
export async function paymentsWithoutRow(dataSource: DataSource, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows: { id: string }[] = await dataSource.query(`SELECT id FROM payments WHERE id = ANY($1::uuid[])`, [ids]);
  const found = new Set(rows.map((r) => r.id));
  return ids.filter((id) => !found.has(id));
}

/**
 * Waits until every payment has its terminal row, `timeoutMs` at most; returns the ids still without
 * one. Looks at least once, so a payment that ended is never reported missing because the wait began
 * late; a query that fails (PostgreSQL still coming back) counts as nothing found.
 */
export async function waitForTerminal(dataSource: DataSource, paymentIds: string[], timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let missing = [...paymentIds];
  for (;;) {
    missing = await paymentsWithoutRow(dataSource, missing).catch(() => missing);
    if (missing.length === 0 || Date.now() > deadline) return missing;
    await sleep(500);
  }
}
