import type { EntityManager } from 'typeorm';
import { accountId, type AccountKind } from './ledger-account.entity.js';

/*
 * The ledger's primitive writes, used inside a caller's transaction. Accounts are locked by these
 * UPDATEs in a fixed order per kind of transfer (payer then merchant, funding then wallet), which
 * keeps concurrent transfers from deadlocking.
 */

/** Debits unless that would take a no-overdraft account below zero (or it does not exist); false then. */
export async function debit(manager: EntityManager, account: string, amount: string): Promise<boolean> {
  const result: unknown[] = await manager.query(
    `UPDATE ledger_accounts SET debits_posted = debits_posted + $2
     WHERE id = $1 AND (NOT debits_must_not_exceed_credits OR credits_posted - debits_posted >= $2)
     RETURNING id`,
    [account, amount],
  );
  // TypeORM's query() answers an UPDATE … RETURNING on pg with [rows, count].
  const rows = Array.isArray(result[0]) ? (result[0] as unknown[]) : result;
  return rows.length === 1;
}

export async function credit(manager: EntityManager, account: string, amount: string): Promise<void> {
  await manager.query(`UPDATE ledger_accounts SET credits_posted = credits_posted + $2 WHERE id = $1`, [account, amount]);
}

/**
 * Creates the account if missing; wallets may never be overdrawn, merchant and funding accounts may.
 * ON CONFLICT without a target: the id is derived from (kind, owner, currency), which has a unique
 * constraint of its own, and a conflict target of (id) alone lets a concurrent first insert fail on
 * that other constraint (two first deposits in one currency both creating its funding account).
 */
export async function ensureAccount(manager: EntityManager, kind: AccountKind, ownerId: string, currency: string): Promise<string> {
  const id = accountId(kind, ownerId, currency);
  await manager.query(
    `INSERT INTO ledger_accounts (id, kind, owner_id, currency, debits_must_not_exceed_credits)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
    [id, kind, ownerId, currency, kind === 'wallet'],
  );
  return id;
}
