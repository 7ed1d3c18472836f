/**
 * The global stream's shapes and helpers: every transition of every payment in one stream (in parts on
 * a cluster), which the console's live tail, replay and the verifier read. PaymentStateStore writes it.
 */

/** The stream of every transition of every payment (in parts on a cluster), for Redis consumer groups and replay. */
export const GLOBAL_STREAM = 'payments';

/** Where a reader of the global stream is: the last id it read of each part. */
export type GlobalStreamCursor = Record<string, string>;

/** One transition as the global stream holds it. */
export interface GlobalStreamEntry {
  id: string;
  paymentId: string;
  status: string;
  stage: string;
  at: string;
  reason?: string;
}

/** Reads what the global stream holds after a cursor, a page at a time (PaymentStateStore.tailReader). */
export interface GlobalTailReader {
  read(cursor: GlobalStreamCursor, count: number): Promise<{ entries: GlobalStreamEntry[]; cursor: GlobalStreamCursor }>;
  close(): void;
}

export function toEntry(id: string, f: Record<string, string>): GlobalStreamEntry {
  return { id, paymentId: f.paymentId, status: f.status, stage: f.stage, at: f.at, ...(f.reason && { reason: f.reason }) };
}

/** Stream ids `ms-seq`, compared as the numbers they are. */
export function compareStreamIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split('-').map(BigInt);
  const [bMs, bSeq] = b.split('-').map(BigInt);
  return aMs === bMs ? Number(aSeq - bSeq) : aMs < bMs ? -1 : 1;
}

export function toRecord(fields: string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i < fields.length; i += 2) record[fields[i]] = fields[i + 1];
  return record;
}
