import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { STATE_SETTINGS, type StateSettings } from './state-settings.js';
import { luaCommand, type LuaCommand } from '../redis/lua-command.js';
import { REDIS, type RedisClient } from '../redis/redis.module.js';
import { RedisKeySpace } from '../redis/key-space.js';
import { STATUS_RANK, type PaymentStage, type PaymentStatus } from '../pipeline/payment-status.js';
import { compareStreamIds, GLOBAL_STREAM, toEntry, toRecord, type GlobalStreamCursor, type GlobalStreamEntry, type GlobalTailReader } from './global-stream.js';
import {
  inMachineOrder,
  PaymentView,
  refundsOf,
  type AppendResult,
  type CurrentState,
  type HistoryEntry,
  type RefundTransition,
  type StateTransition,
} from '../pipeline/payment-view.js';

/** One step as the append script takes it: rank -1 for a step of the history only. */
type AppendedStep = Omit<StateTransition, 'status' | 'payment'> & { status: string; rank: number; payment: { paymentId: string } };

/**
 * Appends transitions atomically, in order (a batch's, or one): each deduplicated by eventId, added to
 * its payment's own stream and to the global stream (approximately trimmed), the current-state hash
 * moved forward only (a late PENDING never overwrites VALIDATED; the payment's own fields are written
 * once; a step without a rank, a refund's, leaves it alone), the payment's keys' retention
 * refreshed. KEYS: the global stream (on a cluster, the part whose tag the payments' keys carry),
 * then state, events and seen of each transition. ARGV: retention, maxlen, then one JSON object per
 * transition (one argument rather than twenty: the client's cost is per argument). Returns one
 * result per transition.
 */
const APPEND_SCRIPT = `
local global, retention, maxlen = KEYS[1], tonumber(ARGV[1]), ARGV[2]
local results = {}
for t = 1, #ARGV - 2 do
  local state, events, seen = KEYS[t * 3 - 1], KEYS[t * 3], KEYS[t * 3 + 1]
  local x = cjson.decode(ARGV[t + 2])
  local currentRank = tonumber(redis.call('HGET', state, 'rank') or '-1')
  if x.rank < 0 and currentRank < 0 then
    -- A step of the history only (a refund's) of a payment the view no longer holds would start a
    -- history without the payment's own steps: not kept (the query falls back to PostgreSQL).
    results[t] = 'stale'
  elseif redis.call('SADD', seen, x.eventId) == 0 then
    results[t] = 'duplicate'
  else
    redis.call('XADD', events, '*', 'status', x.status, 'stage', x.stage, 'at', x.at, 'reason', x.reason, 'detail', x.detail, 'eventId', x.eventId)
    redis.call('XADD', global, 'MAXLEN', '~', maxlen, '*', 'paymentId', x.payment.paymentId, 'status', x.status, 'stage', x.stage, 'at', x.at, 'reason', x.reason, 'eventId', x.eventId)
    local result = 'stale'
    if x.rank < 0 then
      -- A step of the history only: the current state stays as it is.
      result = 'appended'
    elseif x.rank > currentRank then
      redis.call('HSET', state, 'status', x.status, 'rank', x.rank, 'stage', x.stage, 'reason', x.reason, 'updatedAt', x.at)
      -- The payment's fields are written with the hash's first transition (one that set a rank wrote them all).
      if currentRank < 0 then
        local fields = {}
        for field, value in pairs(x.payment) do fields[#fields + 1] = field; fields[#fields + 1] = value end
        redis.call('HSET', state, unpack(fields))
      end
      result = 'appended'
    end
    redis.call('EXPIRE', state, retention)
    redis.call('EXPIRE', events, retention)
    redis.call('EXPIRE', seen, retention)
    results[t] = result
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
export class PaymentStateStore implements PaymentView {
  private readonly appendTransitions: LuaCommand;
  private readonly readStatuses: LuaCommand;
  private readonly raiseRefunded: LuaCommand;

  constructor(
    @Inject(REDIS) private readonly redis: RedisClient,
    @Inject(STATE_SETTINGS) private readonly settings: StateSettings,
    private readonly keySpace: RedisKeySpace,
  ) {
    this.appendTransitions = luaCommand(redis, 'paymentStateAppendAll', 'dynamic', APPEND_SCRIPT);
    this.readStatuses = luaCommand(redis, 'paymentStatuses', 'dynamic', STATUSES_SCRIPT);
    this.raiseRefunded = luaCommand(redis, 'paymentRaiseRefunded', 1, RAISE_REFUNDED);
  }

  async append(transition: StateTransition): Promise<AppendResult> {
    return (await this.appendAll([transition]))[0];
  }

  /** Appends a batch's transitions in one script call, in their order. */
  async appendAll(transitions: StateTransition[]): Promise<AppendResult[]> {
    return this.appendSteps(transitions.map((t) => ({ ...t, rank: STATUS_RANK[t.status] })));
  }

  /** Refund steps have no rank: the script adds them to the streams and leaves the current state alone. */
  async appendRefundSteps(transitions: RefundTransition[]): Promise<AppendResult[]> {
    return this.appendSteps(transitions.map(({ paymentId, ...t }) => ({ ...t, rank: -1, payment: { paymentId } })));
  }

  /** One script call per part of the global stream (one in all on one server). */
  private async appendSteps(steps: AppendedStep[]): Promise<AppendResult[]> {
    if (steps.length === 0) return [];
    return this.keySpace.perSlot(steps, (step) => this.keysOf(step.payment.paymentId).state, (part) => this.appendPart(part));
  }

  private async appendPart(steps: AppendedStep[]): Promise<AppendResult[]> {
    const parts = this.keySpace.allParts().length;
    const keys: string[] = [this.keysOf(steps[0].payment.paymentId).stream];
    const args: (string | number)[] = [this.settings.stateRetentionSeconds, Math.ceil(this.settings.globalStreamMaxLen / parts)];
    for (const step of steps) {
      const own = this.keysOf(step.payment.paymentId);
      keys.push(own.state, own.events, own.seen);
      args.push(
        JSON.stringify({
          eventId: step.eventId,
          status: step.status,
          rank: step.rank,
          stage: step.stage,
          at: step.at,
          reason: step.reason ?? '',
          detail: step.detail ? JSON.stringify(step.detail) : '',
          payment: step.payment,
        }),
      );
    }
    return (await this.appendTransitions(keys.length, ...keys, ...args)) as AppendResult[];
  }

  /** The current status of each payment (null where unknown), in one call: what the stages check first. */
  async statuses(paymentIds: string[]): Promise<(PaymentStatus | null)[]> {
    if (paymentIds.length === 0) return [];
    const states = paymentIds.map((id) => this.keysOf(id).state);
    const statuses = await this.keySpace.perSlot(states, (key) => key, async (keys) => (await this.readStatuses(keys.length, ...keys)) as string[]);
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
      ...refundsOf(hash.status, hash.amount, hash.currency, hash.amountRefundedMinor),
    };
  }

  async noteRefunded(paymentId: string, amountRefundedMinor: string): Promise<void> {
    await this.raiseRefunded(this.keysOf(paymentId).state, amountRefundedMinor);
  }

  /** The payment's transitions in the order the status machine runs them (replayed from its stream). */
  async history(paymentId: string): Promise<HistoryEntry[]> {
    const entries = await this.redis.xrange(this.keysOf(paymentId).events, '-', '+');
    const history = entries.map(([, fields]) => {
      const f = toRecord(fields);
      const entry: HistoryEntry = { status: f.status as HistoryEntry['status'], stage: f.stage as PaymentStage, at: f.at };
      if (f.reason) entry.reason = f.reason;
      if (f.detail) entry.detail = JSON.parse(f.detail) as Record<string, unknown>;
      return entry;
    });
    return inMachineOrder(history);
  }

  async streamLengths(): Promise<{ stream: string; length: number }[]> {
    // ioredis adds the deployment's keyPrefix to the key, as for every other command.
    const streams = this.globalStreams();
    return Promise.all(streams.map(async (stream) => ({ stream, length: await this.redis.xlen(stream) })));
  }

  /**
   * The next `count` entries of the global stream, every part's, in stream id order (ids are times:
   * the order they were written in, to the millisecond, as far as the masters' clocks agree). Parts on
   * different masters can hold the same id, so the cursor keeps a position per part: paging with it
   * neither skips nor repeats an entry. An empty cursor starts at the beginning.
   */
  async globalEntries(cursor: GlobalStreamCursor = {}, count = 100): Promise<{ entries: GlobalStreamEntry[]; cursor: GlobalStreamCursor }> {
    const parts = await Promise.all(
      this.globalStreams().map(async (stream) => {
        const entries = await this.redis.xrange(stream, cursor[stream] ? `(${cursor[stream]}` : '-', '+', 'COUNT', count);
        return entries.map(([id, fields]) => ({ stream, id, fields: toRecord(fields) }));
      }),
    );
    // The first `count` of them all: each part's taken ones are a prefix of what was read of it.
    const taken = parts
      .flat()
      .sort((a, b) => compareStreamIds(a.id, b.id) || a.stream.localeCompare(b.stream))
      .slice(0, count);
    const next = { ...cursor };
    for (const { stream, id } of taken) next[stream] = id;
    return { entries: taken.map(({ id, fields }) => toEntry(id, fields)), cursor: next };
  }

  /** Where the global stream ends now: each part's newest id ('0-0' for an empty part), to read what comes after. */
  async globalHead(): Promise<GlobalStreamCursor> {
    const heads = await Promise.all(this.globalStreams().map(async (stream) => [stream, (await this.redis.xrevrange(stream, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0']));
    return Object.fromEntries(heads) as GlobalStreamCursor;
  }

  /**
   * A reader of what is added to the global stream after a cursor, for a live tail: on one server an
   * `XREAD BLOCK` on a connection of its own (a blocking read would hold up the shared, auto-pipelined
   * one); on a cluster, whose parts lie on several masters and would each need a blocked connection,
   * globalEntries polled every `blockMs`. Close it when done.
   */
  tailReader(blockMs: number): GlobalTailReader {
    if (this.keySpace.clustered) {
      let closed = false;
      return {
        read: async (cursor, count) => {
          const page = await this.globalEntries(cursor, count);
          if (page.entries.length === 0 && !closed) await new Promise((resolve) => setTimeout(resolve, blockMs));
          return page;
        },
        close: () => void (closed = true),
      };
    }
    const [stream] = this.globalStreams();
    const connection = (this.redis as Redis).duplicate({ enableAutoPipelining: false, commandTimeout: blockMs + 5000, maxRetriesPerRequest: 1 });
    connection.on('error', () => undefined); // the shared client already logs Redis being away
    return {
      read: async (cursor, count) => {
        const after = cursor[stream] ?? '0-0';
        const reply = (await connection.xread('COUNT', count, 'BLOCK', blockMs, 'STREAMS', stream, after)) as [string, [string, string[]][]][] | null;
        const read = reply?.[0]?.[1] ?? [];
        const entries = read.map(([id, fields]) => toEntry(id, toRecord(fields)));
        return { entries, cursor: entries.length > 0 ? { [stream]: entries[entries.length - 1].id } : cursor };
      },
      close: () => connection.disconnect(),
    };
  }

  /** The global stream's keys: `payments` on one server, `payments:{part}` for each part on a cluster. */
  globalStreams(): string[] {
    return this.keySpace.allParts().map((part) => this.keySpace.inPart(GLOBAL_STREAM, part));
  }

  /** On a cluster, the keys of a payment carry its part's tag, so one script writes them with the part's stream. */
  private keysOf(paymentId: string) {
    const part = this.keySpace.partOf(paymentId);
    const state = this.keySpace.inPart('payment', part, paymentId);
    return { state, events: `${state}:events`, seen: `${state}:event-ids`, stream: this.keySpace.inPart(GLOBAL_STREAM, part) };
  }
}

/** Raises the refunded total of a payment the view holds (totals only grow; a late, smaller one is ignored). */
const RAISE_REFUNDED = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local current = tonumber(redis.call('HGET', KEYS[1], 'amountRefundedMinor') or '0')
if tonumber(ARGV[1]) > current then redis.call('HSET', KEYS[1], 'amountRefundedMinor', ARGV[1]) return 1 end
return 0
`;
