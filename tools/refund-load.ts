/**
 * The refund load of `npm run chaos`: while the payment load runs, a share of its payments that
 * completed are refunded through the API, as a merchant would, in three ways (each payment is 1.00):
 *
 * - `twice`: 0.30 with an Idempotency-Key, then the same request again once answered, which must name
 *   the same refund;
 * - `over-limit`: three concurrent refunds of 0.40 with keys of their own, of which at most two fit;
 * - `rest`: what is left, no amount given.
 *
 * Every request carries an Idempotency-Key, so one that got no answer or a 5xx can be sent again after
 * recovery (retryUnfinished), the way a careful client would. The runner then asks PostgreSQL what
 * became of every refund that got a 202.
 */
import { randomUUID } from 'node:crypto';

export type RefundPlan = 'twice' | 'over-limit' | 'rest';

export interface RefundAnswer {
  status: number | null;
  refundId?: string;
  replayed: boolean;
  /** error.code of a 4xx/5xx. */
  code?: string;
  /** Why no answer came. */
  error?: string;
}

export interface SentRefund {
  paymentId: string;
  plan: RefundPlan;
  idempotencyKey: string;
  /** Decimal; none asks for what is left. */
  amount?: string;
  target: string;
  first: RefundAnswer;
  /** The same request sent again after recovery, when the first got no answer or a 5xx. */
  retry?: RefundAnswer;
  /** The `twice` plan's second sending, right after the first answer. */
  again?: RefundAnswer;
}

export interface RefundLoadOptions {
  targets: string[];
  /** The payments the payment load got a 202 for, in order, with when they were accepted. */
  accepted: () => { paymentId: string; acceptedAt: number }[];
  /** Every nth accepted payment is refunded (burst() takes others). */
  every: number;
  keyPrefix?: string;
}

const REQUEST_TIMEOUT_MS = 10_000;
/** A payment younger than this is not looked at yet: it is likely still in flight. */
const SETTLE_MS = 3_000;
const TICK_MS = 250;
const PLANS: RefundPlan[] = ['twice', 'over-limit', 'rest'];

export class RefundLoad {
  private records: SentRefund[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  /** How far into accepted() the load has looked. */
  /** Payments looked at (by id: a late 202 lands anywhere in the list), and those refunded. */
  private readonly considered = new Set<string>();
  private readonly refunded = new Set<string>();
  private plans = 0;
  private timer: NodeJS.Timeout | null = null;
  private targets: string[];
  private rr = 0;
  private readonly keyPrefix: string;

  constructor(private readonly options: RefundLoadOptions) {
    this.targets = [...options.targets];
    this.keyPrefix = options.keyPrefix ?? `refund-${randomUUID()}-`;
  }

  setTargets(urls: string[]): void {
    this.targets = [...urls];
  }

  /** Starts refunding, from the payments accepted from now on. */
  start(): void {
    if (this.timer) return;
    for (const p of this.options.accepted()) this.considered.add(p.paymentId);
    this.timer = setInterval(() => this.track(this.due()), TICK_MS);
  }

  /** Stops picking payments and waits for the answers of refunds in flight. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.allSettled([...this.inFlight]);
  }

  /**
   * `n` refunds at once (the refund-kill fault kills while they are in flight): of the newest payments
   * old enough to have completed that no refund picked yet, once there are `n` (10 s at most).
   */
  async burst(n: number): Promise<void> {
    const deadline = Date.now() + 10_000;
    const eligible = () => this.options.accepted().filter((p) => !this.refunded.has(p.paymentId) && p.acceptedAt <= Date.now() - SETTLE_MS);
    while (eligible().length < n && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, TICK_MS));
    const chosen = eligible().slice(-n);
    chosen.forEach((p) => this.considered.add(p.paymentId));
    this.track(chosen);
  }

  take(): SentRefund[] {
    const taken = this.records;
    this.records = [];
    return taken;
  }

  /** Sends again, with the same key and body, each refund whose last sending got no answer or a 5xx. */
  async retryUnfinished(records: SentRefund[], live: string[]): Promise<void> {
    const unfinished = records.filter((r) => unfinishedAnswer(r.first));
    for (let i = 0; i < unfinished.length; i += 50) {
      await Promise.all(unfinished.slice(i, i + 50).map(async (r, j) => (r.retry = await this.send(live[(i + j) % live.length], r))));
    }
  }

  /** The accepted payments due for a refund: every nth of those not looked at yet, once at least SETTLE_MS old. */
  private due(): { paymentId: string }[] {
    const due: { paymentId: string }[] = [];
    for (const p of this.options.accepted()) {
      if (this.considered.has(p.paymentId) || p.acceptedAt > Date.now() - SETTLE_MS) continue;
      this.considered.add(p.paymentId);
      if (this.considered.size % this.options.every === 0) due.push(p);
    }
    return due;
  }

  private track(payments: { paymentId: string }[]): void {
    for (const { paymentId } of payments) {
      this.refunded.add(paymentId);
      const plan = PLANS[this.plans++ % PLANS.length];
      const running = this.refund(paymentId, plan);
      this.inFlight.add(running);
      void running.finally(() => this.inFlight.delete(running));
    }
  }

  private async refund(paymentId: string, plan: RefundPlan): Promise<void> {
    const target = this.targets[this.rr++ % this.targets.length];
    const sent = (n: number, amount?: string): SentRefund => ({
      paymentId,
      plan,
      idempotencyKey: `${this.keyPrefix}${paymentId}-${n}`,
      ...(amount !== undefined && { amount }),
      target,
      first: { status: null, replayed: false },
    });
    const requests = plan === 'twice' ? [sent(0, '0.30')] : plan === 'over-limit' ? [0, 1, 2].map((n) => sent(n, '0.40')) : [sent(0)];
    this.records.push(...requests);
    await Promise.all(
      requests.map(async (r) => {
        r.first = await this.send(target, r);
        if (plan === 'twice' && r.first.status === 202) r.again = await this.send(target, r);
      }),
    );
  }

  private async send(target: string, refund: SentRefund): Promise<RefundAnswer> {
    try {
      const response = await fetch(`${target}/api/payments/${refund.paymentId}/refunds`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': refund.idempotencyKey },
        body: JSON.stringify(refund.amount === undefined ? {} : { amount: refund.amount }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const body = (await response.json().catch(() => ({}))) as { refundId?: string; error?: { code?: string } };
      return {
        status: response.status,
        ...(response.status === 202 && { refundId: body.refundId }),
        replayed: response.headers.get('idempotent-replayed') === 'true',
        ...(body.error?.code && { code: body.error.code }),
      };
    } catch (error) {
      const cause = (error as Error & { cause?: { code?: string } }).cause;
      return { status: null, replayed: false, error: cause?.code ?? (error as Error).name };
    }
  }
}

export function unfinishedAnswer(answer: RefundAnswer): boolean {
  return answer.status === null || answer.status >= 500;
}

/** Every refundId a 202 named, first sendings, second ones and retries. */
export function acceptedRefundIds(records: SentRefund[]): string[] {
  const ids = new Set<string>();
  for (const r of records) for (const a of [r.first, r.again, r.retry]) if (a?.status === 202 && a.refundId) ids.add(a.refundId);
  return [...ids];
}
