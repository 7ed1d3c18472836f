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
 * Appends transitions atomically, in order (a batch's, or one): each deduplicated by eventId, added to
 * its payment's own stream and to the global stream (approximately trimmed), the current-state hash
 * moved forward only (a late PENDING never overwrites VALIDATED), the payment's keys' retention
 * refreshed. KEYS: the global stream, then state, events and seen of each transition. ARGV: retention,
 * maxlen, then per transition eventId, status, rank, stage, at, reason, detail, paymentId, the number
 * of snapshot values and those values (field, value, ...). Returns one result per transition.
 */
const APPEND_SCRIPT = `
local global, retention, maxlen = KEYS[1], tonumber(ARGV[1]), ARGV[2]
local results, a = {}, 3
for t = 0, (#KEYS - 1) / 3 - 1 do
  local state, events, seen = KEYS[2 + t * 3], KEYS[3 + t * 3], KEYS[4 + t * 3]
  local eventId, status, rank, stage, at = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2]), ARGV[a + 3], ARGV[a + 4]
  local reason, detail, paymentId, fields = ARGV[a + 5], ARGV[a + 6], ARGV[a + 7], tonumber(ARGV[a + 8])
  local first = a + 9
  a = first + fields
  if redis.call('SADD', seen, eventId) == 0 then
    results[t + 1] = 'duplicate'
  else
    redis.call('XADD', events, '*', 'status', status, 'stage', stage, 'at', at, 'reason', reason, 'detail', detail, 'eventId', eventId)
    redis.call('XADD', global, 'MAXLEN', '~', maxlen, '*', 'paymentId', paymentId, 'status', status, 'stage', stage, 'at', at, 'reason', reason, 'eventId', eventId)
    local result = 'stale'
    local currentRank = tonumber(redis.call('HGET', state, 'rank') or '-1')
    if rank > currentRank then
      redis.call('HSET', state, 'status', status, 'rank', rank, 'stage', stage, 'reason', reason, 'updatedAt', at)
      for i = first, first + fields - 1, 2 do redis.call('HSETNX', state, ARGV[i], ARGV[i + 1]) end
      result = 'appended'
    end
    redis.call('EXPIRE', state, retention)
    redis.call('EXPIRE', events, retention)
    redis.call('EXPIRE', seen, retention)
    results[t + 1] = result
  end
end
return results
`;

/** The current status of each key (KEYS), '' where the payment is unknown: one call for a whole batch. */
const STATUSES_SCRIPT = `
local statuses = {}
for i, key in ipairs(KEYS) do statuses[i] = redis.call('HGET', key, 'status') or '' end
return statuses
`;

/** Redis Streams view of every payment's states: fast queries and replayable history, not the system of record. */
@Injectable()
export class PaymentStateStore {
  private readonly appendTransitions: LuaCommand;
  private readonly readStatuses: LuaCommand;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly config: AppConfig,
  ) {
    this.appendTransitions = luaCommand(redis, 'paymentStateAppendAll', 'dynamic', APPEND_SCRIPT);
    this.readStatuses = luaCommand(redis, 'paymentStatuses', 'dynamic', STATUSES_SCRIPT);
  }

  async append(transition: StateTransition): Promise<AppendResult> {
    return (await this.appendAll([transition]))[0];
  }

  /** Appends a batch's transitions in one script call, in their order. */
  async appendAll(transitions: StateTransition[]): Promise<AppendResult[]> {
    if (transitions.length === 0) return [];
    const keys: string[] = [GLOBAL_STREAM];
    const args: (string | number)[] = [this.config.payments.stateRetentionSeconds, this.config.payments.globalStreamMaxLen];
    for (const transition of transitions) {
      const { payment } = transition;
      const own = this.keysOf(payment.paymentId);
      keys.push(own.state, own.events, own.seen);
      const snapshotFields = Object.entries(payment).flat();
      args.push(
        transition.eventId,
        transition.status,
        STATUS_RANK[transition.status],
        transition.stage,
        transition.at,
        transition.reason ?? '',
        transition.detail ? JSON.stringify(transition.detail) : '',
        payment.paymentId,
        snapshotFields.length,
        ...snapshotFields,
      );
    }
    return (await this.appendTransitions(keys.length, ...keys, ...args)) as AppendResult[];
  }

  /** The current status of each payment (null where unknown), in one call: what the stages check first. */
  async statuses(paymentIds: string[]): Promise<(PaymentStatus | null)[]> {
    if (paymentIds.length === 0) return [];
    const statuses = (await this.readStatuses(paymentIds.length, ...paymentIds.map((id) => this.keysOf(id).state))) as string[];
    return statuses.map((status) => (status === '' ? null : (status as PaymentStatus)));
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
