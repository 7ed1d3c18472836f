import { Injectable, Logger } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service.js';
import type { PaymentPayload } from '../pipeline/payment-events.js';
import type { PaymentRecord } from '../pipeline/payment-record.entity.js';
import { orderKey, type TerminalOutcome } from '../pipeline/payment-records.repository.js';
import { accountId, type LedgerAccount } from './ledger-account.entity.js';
import { LedgerRepository, type LedgerTransaction } from './ledger.repository.js';

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
    private readonly ledger: LedgerRepository,
    private readonly metrics: MetricsService,
  ) {}

  /** A user's wallets, one per currency they hold. */
  walletsOf(userId: string): Promise<LedgerAccount[]> {
    return this.ledger.walletsOf(userId);
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
    const { results, decided } = await this.ledger.transaction(async (tx) => {
      const ended = await tx.terminalRows([...new Set(requests.map((r) => r.paymentId))]);

      // Each payment once, and only if no earlier delivery (or the intake's abandonment) ended it.
      const seen = new Set<string>();
      const open = requests.filter((r) => !ended.has(r.paymentId) && !seen.has(r.paymentId) && seen.add(r.paymentId));
      const decisions = await this.decide(tx, open);
      await this.write(tx, decisions);

      const written = await tx.terminalRows(decisions.map((d) => d.request.paymentId));
      const records = new Map([...ended, ...written]);
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
  private async decide(tx: LedgerTransaction, requests: PostingRequest[]): Promise<Decision[]> {
    const completedOrders = await tx.completedOrders(requests.map((r) => r.payment));
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
      const debited = await tx.debitWallets(
        candidates.map((r) => ({ paymentId: r.paymentId, account: accountId('wallet', r.payment.userId, r.payment.currency), amount: r.payment.amountMinor })),
      );
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

  /**
   * Transfers and terminal rows for the decisions, then the merchants' credits last, so the hot
   * merchant rows stay locked only for the end of the transaction (one UPDATE per merchant account,
   * in a fixed order so concurrent groups cannot deadlock).
   */
  private async write(tx: LedgerTransaction, decisions: Decision[]): Promise<void> {
    if (decisions.length === 0) return;
    const completed = decisions.filter((d) => d.outcome.status === 'COMPLETED').map((d) => d.request);
    const credits = new Map<string, { ownerId: string; currency: string; amount: bigint }>();
    for (const { payment } of completed) {
      const account = accountId('merchant', payment.merchantId, payment.currency);
      const credit = credits.get(account) ?? { ownerId: payment.merchantId, currency: payment.currency, amount: 0n };
      credit.amount += BigInt(payment.amountMinor);
      credits.set(account, credit);
    }
    const merchantAccounts = [...credits.keys()].sort();

    await tx.ensureAccounts('merchant', merchantAccounts.map((a) => credits.get(a)!));
    await tx.insertPaymentTransfers(
      completed.map((r) => ({
        paymentId: r.paymentId,
        debitAccount: accountId('wallet', r.payment.userId, r.payment.currency),
        creditAccount: accountId('merchant', r.payment.merchantId, r.payment.currency),
        amount: r.payment.amountMinor,
        currency: r.payment.currency,
      })),
    );
    await tx.insertTerminal(decisions.map((d) => ({ paymentId: d.request.paymentId, payment: d.request.payment, outcome: d.outcome })));
    for (const account of merchantAccounts) await tx.credit(account, credits.get(account)!.amount.toString());
  }
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
