import { Inject, Injectable, Logger } from '@nestjs/common';
import { Coalescer } from '../batching/coalescer.js';
import { INTAKE_SETTINGS, type IntakeSettings } from './intake-settings.js';
import { keyedPaymentId } from './keyed-payment-id.js';
import { ABANDONED_AT_INTAKE, type PaymentPayload } from '../pipeline/payment-events.js';
import { PaymentRecords, type RecalledPayment } from '../pipeline/payment-records.repository.js';

export type { RecalledPayment };

/** What PostgreSQL knows of an Idempotency-Key that Redis does not (a new key, or one Redis lost). */
export type RecalledKey =
  /** No payment of the key has ended, except abandoned attempts: pay as this attempt. */
  | { kind: 'attempt'; attempt: number }
  /** The key's payment ended, and this request is the same payment: replay its answer. */
  | { kind: 'replay'; record: RecalledPayment }
  /** The key's payment ended, and this request asks for another one. */
  | { kind: 'mismatch'; paymentId: string }
  /** PostgreSQL could not be read in time; the attempts before `atLeast` were seen abandoned. */
  | { kind: 'unavailable'; error: Error; atLeast: number };

/**
 * Attempts looked up per query past the first. A key's attempt n+1 is only ever paid past a tombstone
 * row of attempt n (both the Redis record and this recall move on only past one), so attempt 0 alone
 * decides for every key that never met a 503: the common case is one id.
 */
const ATTEMPTS_PER_LOOKUP = 8;
/** A primary-key read; past this, the intake goes on without it rather than keep the client waiting. */
const LOOKUP_TIMEOUT_MS = 1000;

/**
 * The durable half of the Idempotency-Key contract. Redis keeps each key's answer for the TTL, but
 * Redis may lose it (a restart without persistence, a failover). The paymentId is derived from the
 * key (keyedPaymentId), and PostgreSQL holds every payment that ended, so when Redis does not know a
 * key, the rows of the key's attempts tell what the key already became: a payment to replay, one a
 * different body may not reuse, or (past abandoned attempts) the attempt this request pays as.
 *
 * Only terminal payments have rows: a payment still in flight is invisible here, and a retry of it
 * derives the same paymentId, which the pipeline processes once (docs/RELIABILITY.md).
 */
@Injectable()
export class IdempotencyRecall {
  private readonly logger = new Logger(IdempotencyRecall.name);
  private readonly lookups: Coalescer<string[], RecalledPayment[]>;

  constructor(
    @Inject(INTAKE_SETTINGS) private readonly settings: Pick<IntakeSettings, 'paymentIdNamespace'>,
    private readonly records: PaymentRecords,
  ) {
    // Concurrent first requests with keys share one primary-key query.
    this.lookups = new Coalescer({ maxBatchSize: 128, lingerMs: 0, run: (batches) => this.findTogether(batches) });
  }

  async recall(payment: PaymentPayload, key: string): Promise<RecalledKey> {
    const { paymentIdNamespace } = this.settings;
    for (let first = 0; ; first += first === 0 ? 1 : ATTEMPTS_PER_LOOKUP) {
      const count = first === 0 ? 1 : ATTEMPTS_PER_LOOKUP;
      const ids = Array.from({ length: count }, (_, i) => keyedPaymentId(paymentIdNamespace, payment.merchantId, key, first + i));
      let rows: RecalledPayment[];
      try {
        rows = await this.lookup(ids);
      } catch (error) {
        this.logger.warn(`PostgreSQL unavailable to recall an Idempotency-Key: ${(error as Error).message}`);
        return { kind: 'unavailable', error: error as Error, atLeast: first };
      }
      const byId = new Map(rows.map((r) => [r.id, r]));
      const latest = ids.findLastIndex((id) => byId.has(id));
      if (latest === -1) return { kind: 'attempt', attempt: first };
      const record = byId.get(ids[latest])!;
      if (!isAbandoned(record)) return sameRequest(record, payment) ? { kind: 'replay', record } : { kind: 'mismatch', paymentId: record.id };
      if (latest < count - 1) return { kind: 'attempt', attempt: first + latest + 1 };
    }
  }

  private lookup(ids: string[]): Promise<RecalledPayment[]> {
    const ticket = { withdrawn: false };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        ticket.withdrawn = true; // still queued behind a hung query: never run
        reject(new Error(`no answer within ${LOOKUP_TIMEOUT_MS} ms`));
      }, LOOKUP_TIMEOUT_MS);
    });
    return Promise.race([this.lookups.submit(ids, ticket), timeout]).finally(() => clearTimeout(timer));
  }

  /** One primary-key query for every request that waited. */
  private async findTogether(batches: string[][]): Promise<PromiseSettledResult<RecalledPayment[]>[]> {
    const rows = await this.records.recall(batches.flat());
    const byId = new Map(rows.map((r) => [r.id, r]));
    return batches.map((ids) => ({ status: 'fulfilled', value: ids.flatMap((id) => byId.get(id) ?? []) }));
  }
}

function isAbandoned(record: RecalledPayment): boolean {
  return record.status === ABANDONED_AT_INTAKE.status && record.stage === ABANDONED_AT_INTAKE.stage && record.reason === ABANDONED_AT_INTAKE.reason;
}

/**
 * The stored row against the request, field by field as the fingerprint compares them. The
 * description is not stored, so it is the one field a retry may change unnoticed once Redis forgot.
 */
function sameRequest(record: RecalledPayment, payment: PaymentPayload): boolean {
  return (
    record.merchantId === payment.merchantId &&
    record.orderId === payment.orderId &&
    record.userId === payment.userId &&
    record.amountMinor === payment.amountMinor &&
    record.currency === payment.currency
  );
}
