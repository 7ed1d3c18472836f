import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { AppConfig } from '../config/app-config.js';
import { luaCommand, type LuaCommand } from '../redis/lua-command.js';
import { REDIS } from '../redis/redis.module.js';
import { STATUS_RANK, type PaymentStage, type PaymentStatus } from './payment-status.js';

/** What every transition carries about the payment, so the current state reads in one O(1) lookup. */
export interface PaymentSnapshot {
  paymentId: string;
  orderId: string;
  userId: string;
  merchantId: string;
  /** Decimal string in major units, as the API shows it. */
  amount: string;
  currency: string;
  createdAt: string;
}

export interface StateTransition {
  /** Id of the event that caused the transition; appending the same event twice records it once. */
  eventId: string;
  status: PaymentStatus;
  stage: PaymentStage;
  at: string;
  reason?: string;
  detail?: Record<string, unknown>;
  payment: PaymentSnapshot;
}

export interface CurrentState extends PaymentSnapshot {
  status: PaymentStatus;
  stage: PaymentStage;
  reason?: string;
  updatedAt: string;
}

export interface HistoryEntry {
  status: PaymentStatus;
  stage: PaymentStage;
  at: string;
  reason?: string;
  detail?: Record<string, unknown>;
}

/** Outcome of an append: recorded, already recorded (same eventId), or ignored behind a later status. */
export type AppendResult = 'appended' | 'duplicate' | 'stale';

/**
 * Appends a transition atomically: dedupe by eventId, add to the payment's own stream and to the
 * global stream (approximately trimmed), move the current-state hash forward only (a late PENDING
 * never overwrites VALIDATED), and refresh the retention of the payment's keys.
 */
const APPEND_SCRIPT = `
local state, events, seen, global = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local eventId, status, rank, stage, at, reason, detail = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local retention, maxlen, paymentId = tonumber(ARGV[8]), ARGV[9], ARGV[10]
if redis.call('SADD', seen, eventId) == 0 then return 'duplicate' end
redis.call('XADD', events, '*', 'status', status, 'stage', stage, 'at', at, 'reason', reason, 'detail', detail, 'eventId', eventId)
redis.call('XADD', global, 'MAXLEN', '~', maxlen, '*', 'paymentId', paymentId, 'status', status, 'stage', stage, 'at', at, 'reason', reason, 'eventId', eventId)
local result = 'stale'
local currentRank = tonumber(redis.call('HGET', state, 'rank') or '-1')
if rank > currentRank then
  redis.call('HSET', state, 'status', status, 'rank', rank, 'stage', stage, 'reason', reason, 'updatedAt', at)
  for i = 11, #ARGV, 2 do redis.call('HSETNX', state, ARGV[i], ARGV[i + 1]) end
  result = 'appended'
end
redis.call('EXPIRE', state, retention)
redis.call('EXPIRE', events, retention)
redis.call('EXPIRE', seen, retention)
return result
`;

/** Redis Streams view of every payment's states: fast queries and replayable history, not the system of record. */
@Injectable()
export class PaymentStateStore {
  private readonly appendTransition: LuaCommand;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly config: AppConfig,
  ) {
    this.appendTransition = luaCommand(redis, 'paymentStateAppend', 4, APPEND_SCRIPT);
  }

  async append(transition: StateTransition): Promise<AppendResult> {
    const { payment } = transition;
    const keys = this.keysOf(payment.paymentId);
    const snapshotFields = Object.entries(payment).flat();
    const result = await this.appendTransition(
      keys.state,
      keys.events,
      keys.seen,
      GLOBAL_STREAM,
      transition.eventId,
      transition.status,
      STATUS_RANK[transition.status],
      transition.stage,
      transition.at,
      transition.reason ?? '',
      transition.detail ? JSON.stringify(transition.detail) : '',
      this.config.payments.stateRetentionSeconds,
      this.config.payments.globalStreamMaxLen,
      payment.paymentId,
      ...snapshotFields,
    );
    return result as AppendResult;
  }

  /** Just the current status (one HGET): what the stages check on their hot path. */
  async status(paymentId: string): Promise<PaymentStatus | null> {
    return (await this.redis.hget(this.keysOf(paymentId).state, 'status')) as PaymentStatus | null;
  }

  async current(paymentId: string): Promise<CurrentState | null> {
    const hash = await this.redis.hgetall(this.keysOf(paymentId).state);
    if (!hash.status) return null;
    return {
      paymentId: hash.paymentId,
      orderId: hash.orderId,
      userId: hash.userId,
      merchantId: hash.merchantId,
      amount: hash.amount,
      currency: hash.currency,
      createdAt: hash.createdAt,
      status: hash.status as PaymentStatus,
      stage: hash.stage as PaymentStage,
      reason: hash.reason || undefined,
      updatedAt: hash.updatedAt,
    };
  }

  /** The payment's transitions in the order the status machine runs them (replayed from its stream). */
  async history(paymentId: string): Promise<HistoryEntry[]> {
    const entries = await this.redis.xrange(this.keysOf(paymentId).events, '-', '+');
    const history = entries.map(([, fields]) => {
      const f = toRecord(fields);
      const entry: HistoryEntry = { status: f.status as PaymentStatus, stage: f.stage as PaymentStage, at: f.at };
      if (f.reason) entry.reason = f.reason;
      if (f.detail) entry.detail = JSON.parse(f.detail) as Record<string, unknown>;
      return entry;
    });
    // Stages append concurrently (the intake's PENDING can land after validation's VALIDATED):
    // the machine's order is the truth, arrival order breaks ties. Array.sort is stable.
    return history.sort((a, b) => STATUS_RANK[a.status] - STATUS_RANK[b.status]);
  }

  private keysOf(paymentId: string) {
    return {
      state: `payment:${paymentId}`,
      events: `payment:${paymentId}:events`,
      seen: `payment:${paymentId}:event-ids`,
    };
  }
}

/** The one stream of every transition of every payment, for Redis consumer groups and replay. */
export const GLOBAL_STREAM = 'payments';

function toRecord(fields: string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i < fields.length; i += 2) record[fields[i]] = fields[i + 1];
  return record;
}
