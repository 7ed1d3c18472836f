import { Injectable, Logger } from '@nestjs/common';
import { DataSource, In, type EntityManager } from 'typeorm';
import { MetricsService } from '../metrics/metrics.service.js';
import type { PaymentPayload } from '../payments/payment-events.js';
import type { TerminalOutcome } from '../payments/payment-lifecycle.service.js';
import { PaymentRecord } from '../payments/payment-record.entity.js';
import { accountId, LedgerAccount } from './ledger-account.entity.js';

export interface PostingResult {
  /** The payment's terminal record: what this posting decided, or what an earlier delivery did. */
  record: PaymentRecord;
  /** False when the payment had already ended (a redelivery, or the intake abandoned it). */
  decidedNow: boolean;
}

export interface PostingRequest {
  paymentId: string;
  payment: PaymentPayload;
  riskScore: number | null;
}

interface Decision {
  request: PostingRequest;
  outcome: TerminalOutcome;
}

/**
 * The double-entry ledger. Every movement is one transfer that debits one account and credits another
 * in one PostgreSQL transaction, together with the payment's terminal row, so money moves exactly
 * when the payment is recorded COMPLETED. Constraints are the last guard: the payment id is the
 * transfer's primary key, a wallet's CHECK forbids overdraft, and a unique index allows one COMPLETED
 * payment per (merchant, order).
 *
 * A stage batch's postings are group-committed (postAll): one transaction, a handful of set-based statements and one commit for the whole group, and the hot
 * merchant account is updated once per group instead of once per payment. If the group's transaction
 * fails, its postings are retried one transaction each, so one bad posting cannot fail its neighbours.
 */
@Injectable()
export class LedgerService {
  private readonly logger = new Logger(LedgerService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly metrics: MetricsService,
  ) {}


  /** A user's wallets, one per currency they hold. */
  walletsOf(userId: string): Promise<LedgerAccount[]> {
    return this.dataSource.manager.find(LedgerAccount, { where: { kind: 'wallet', ownerId: userId }, order: { currency: 'ASC' } });
  }

  /** Posts a stage batch as one group, in its order: one result per request (a rejected one is to be retried). */
  async postAll(requests: PostingRequest[]): Promise<PromiseSettledResult<PostingResult>[]> {
    try {
      return (await this.postTogether(requests)).map((value) => ({ status: 'fulfilled', value }));
    } catch (error) {
      if (requests.length === 1) return [{ status: 'rejected', reason: error }];
      this.logger.warn(`A group of ${requests.length} postings failed (${(error as Error).message}); posting them one by one`);
      const results: PromiseSettledResult<PostingResult>[] = [];
      // One after another: a payer's postings keep their order, and after one of them failed its later
      // ones wait (are not posted) until it is retried, so none overtakes it.
      const failedPayers = new Map<string, unknown>();
      for (const request of requests) {
        const earlier = failedPayers.get(request.payment.userId);
        if (earlier !== undefined) {
          results.push({ status: 'rejected', reason: new Error(`Held back behind a failed posting of payer ${request.payment.userId}`, { cause: earlier }) });
          continue;
        }
        try {
          results.push({ status: 'fulfilled', value: (await this.postTogether([request]))[0] });
        } catch (reason) {
          failedPayers.set(request.payment.userId, reason);
          results.push({ status: 'rejected', reason });
        }
      }
      return results;
    }
  }

  /** Posts the requests in one transaction; throws (and rolls everything back) on any conflict. */
  private async postTogether(requests: PostingRequest[]): Promise<PostingResult[]> {
    const { results, decided } = await this.dataSource.transaction(async (manager) => {
      const ids = [...new Set(requests.map((r) => r.paymentId))];
      const ended = new Map((await manager.findBy(PaymentRecord, { id: In(ids) })).map((record) => [record.id, record]));

      // Each payment once, and only if no earlier delivery (or the intake's abandonment) ended it.
      const seen = new Set<string>();
      const open = requests.filter((r) => !ended.has(r.paymentId) && !seen.has(r.paymentId) && seen.add(r.paymentId));
      const decisions = await this.decide(manager, open);
      await this.write(manager, decisions);

      const written = await manager.findBy(PaymentRecord, { id: In(decisions.map((d) => d.request.paymentId)) });
      const records = new Map([...ended, ...written.map((record) => [record.id, record] as const)]);
      const fresh = new Set(decisions.map((d) => d.request.paymentId));
      const results = requests.map((r): PostingResult => {
        const record = records.get(r.paymentId);
        if (!record) throw new Error(`Payment ${r.paymentId} has no terminal row after posting`);
        const decidedNow = fresh.delete(r.paymentId);
        return { record, decidedNow };
      });
      return { results, decided: decisions };
    });
    // Counted once, by the transaction that decided the outcome, and only once it committed.
    for (const { request, outcome } of decided) this.metrics.paymentFinalized(outcome, request.payment);
    return results;
  }

  /**
   * COMPLETED when the order has no completed payment yet and the payer's wallet covers the amount;
   * DECLINED otherwise. Wallets are debited set-based in rounds: round k holds every payer's k-th
   * payment of the group, so a payer's payments are debited in their order and each sees the last.
   */
  private async decide(manager: EntityManager, requests: PostingRequest[]): Promise<Decision[]> {
    const completedOrders = await this.completedOrders(manager, requests);
    const outcomes = new Map<PostingRequest, TerminalOutcome>();
    for (const round of roundsByPayer(requests)) {
      const candidates: PostingRequest[] = [];
      for (const request of round) {
        const order = orderKey(request.payment);
        if (completedOrders.has(order)) {
          outcomes.set(request, { status: 'DECLINED', stage: 'ledger', reason: 'DUPLICATE_ORDER' });
        } else {
          // Taken for this round (released below if the debit is refused). The intake lets one order
          // have one payment in flight, so two of one order in one group is a redelivery race at most.
          completedOrders.add(order);
          candidates.push(request);
        }
      }
      const debited = await this.debitWallets(manager, candidates);
      for (const request of candidates) {
        if (debited.has(request.paymentId)) {
          outcomes.set(request, { status: 'COMPLETED', stage: 'ledger', reason: null });
        } else {
          completedOrders.delete(orderKey(request.payment));
          outcomes.set(request, { status: 'DECLINED', stage: 'ledger', reason: 'INSUFFICIENT_FUNDS' });
        }
      }
    }
    return requests.map((request) => ({ request, outcome: { ...outcomes.get(request)!, riskScore: request.riskScore } }));
  }

  private async completedOrders(manager: EntityManager, requests: PostingRequest[]): Promise<Set<string>> {
    if (requests.length === 0) return new Set();
    const rows: { merchant_id: string; order_id: string }[] = await manager.query(
      `SELECT p.merchant_id, p.order_id FROM payments p
       JOIN unnest($1::varchar[], $2::varchar[]) AS o(merchant_id, order_id)
         ON p.merchant_id = o.merchant_id AND p.order_id = o.order_id
       WHERE p.status = 'COMPLETED'`,
      [requests.map((r) => r.payment.merchantId), requests.map((r) => r.payment.orderId)],
    );
    return new Set(rows.map((row) => orderKey({ merchantId: row.merchant_id, orderId: row.order_id })));
  }

  /** Debits each payer's wallet once (payers are distinct here) unless it would go below zero; returns who was debited. */
  private async debitWallets(manager: EntityManager, requests: PostingRequest[]): Promise<Set<string>> {
    if (requests.length === 0) return new Set();
    const rows: unknown[] = await manager.query(
      `UPDATE ledger_accounts a SET debits_posted = a.debits_posted + d.amount
       FROM unnest($1::varchar[], $2::bigint[], $3::uuid[]) AS d(account_id, amount, payment_id)
       WHERE a.id = d.account_id
         AND (NOT a.debits_must_not_exceed_credits OR a.credits_posted - a.debits_posted >= d.amount)
       RETURNING d.payment_id`,
      [
        requests.map((r) => accountId('wallet', r.payment.userId, r.payment.currency)),
        requests.map((r) => r.payment.amountMinor),
        requests.map((r) => r.paymentId),
      ],
    );
    // TypeORM's query() answers an UPDATE … RETURNING on pg with [rows, count].
    const returned = (Array.isArray(rows[0]) ? rows[0] : rows) as { payment_id: string }[];
    return new Set(returned.map((row) => row.payment_id));
  }

  /**
   * Transfers and terminal rows for the decisions, then the merchants' credits last, so the hot
   * merchant rows stay locked only for the end of the transaction (one UPDATE per merchant account,
   * in a fixed order so concurrent groups cannot deadlock).
   */
  private async write(manager: EntityManager, decisions: Decision[]): Promise<void> {
    if (decisions.length === 0) return;
    const completed = decisions.filter((d) => d.outcome.status === 'COMPLETED').map((d) => d.request);
    const credits = new Map<string, { merchantId: string; currency: string; amount: bigint }>();
    for (const { payment } of completed) {
      const account = accountId('merchant', payment.merchantId, payment.currency);
      const credit = credits.get(account) ?? { merchantId: payment.merchantId, currency: payment.currency, amount: 0n };
      credit.amount += BigInt(payment.amountMinor);
      credits.set(account, credit);
    }
    const merchantAccounts = [...credits.keys()].sort();

    if (merchantAccounts.length > 0) {
      await manager.query(
        `INSERT INTO ledger_accounts (id, kind, owner_id, currency, debits_must_not_exceed_credits)
         SELECT id, 'merchant', owner_id, currency, false FROM unnest($1::varchar[], $2::varchar[], $3::char(3)[]) AS m(id, owner_id, currency)
         ON CONFLICT DO NOTHING -- any unique constraint, not only the id: see ensureAccount
         `,
        [merchantAccounts, merchantAccounts.map((a) => credits.get(a)!.merchantId), merchantAccounts.map((a) => credits.get(a)!.currency)],
      );
      await manager.query(
        `INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, ledger, code, payment_id)
         SELECT t.id, t.debit, t.credit, t.amount, t.ledger, 'PAYMENT', t.id
         FROM unnest($1::uuid[], $2::varchar[], $3::varchar[], $4::bigint[], $5::char(3)[]) AS t(id, debit, credit, amount, ledger)`,
        [
          completed.map((r) => r.paymentId),
          completed.map((r) => accountId('wallet', r.payment.userId, r.payment.currency)),
          completed.map((r) => accountId('merchant', r.payment.merchantId, r.payment.currency)),
          completed.map((r) => r.payment.amountMinor),
          completed.map((r) => r.payment.currency),
        ],
      );
    }

    // No ON CONFLICT: a row written meanwhile (the intake abandoning the payment) must roll the money back.
    await manager.query(
      `INSERT INTO payments (id, merchant_id, order_id, user_id, amount_minor, currency, status, stage, reason, risk_score, accepted_at)
       SELECT * FROM unnest($1::uuid[], $2::varchar[], $3::varchar[], $4::varchar[], $5::bigint[], $6::char(3)[],
                            $7::varchar[], $8::varchar[], $9::varchar[], $10::integer[], $11::timestamptz[])`,
      [
        decisions.map((d) => d.request.paymentId),
        decisions.map((d) => d.request.payment.merchantId),
        decisions.map((d) => d.request.payment.orderId),
        decisions.map((d) => d.request.payment.userId),
        decisions.map((d) => d.request.payment.amountMinor),
        decisions.map((d) => d.request.payment.currency),
        decisions.map((d) => d.outcome.status),
        decisions.map((d) => d.outcome.stage),
        decisions.map((d) => d.outcome.reason),
        decisions.map((d) => d.outcome.riskScore ?? null),
        decisions.map((d) => d.request.payment.acceptedAt),
      ],
    );

    for (const account of merchantAccounts) {
      await manager.query(`UPDATE ledger_accounts SET credits_posted = credits_posted + $2 WHERE id = $1`, [
        account,
        credits.get(account)!.amount.toString(),
      ]);
    }
  }
}

function orderKey(payment: { merchantId: string; orderId: string }): string {
  return `${payment.merchantId}\u0000${payment.orderId}`;
}

/** Splits requests into rounds in which each payer wallet appears at most once, keeping each payer's order. */
export function roundsByPayer<T extends { payment: { userId: string; currency: string } }>(requests: T[]): T[][] {
  const rounds: T[][] = [];
  const seenInRound = new Map<string, number>();
  for (const request of requests) {
    const wallet = `${request.payment.userId}\u0000${request.payment.currency}`;
    const round = seenInRound.get(wallet) ?? 0;
    seenInRound.set(wallet, round + 1);
    (rounds[round] ??= []).push(request);
  }
  return rounds;
}
