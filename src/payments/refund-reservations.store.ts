import { Inject, Injectable } from '@nestjs/common';
import { luaCommand, type LuaCommand } from '../redis/lua-command.js';
import { REDIS, type RedisClient } from '../redis/redis.module.js';

/** A refund between the intake's 202 and its outcome in PostgreSQL, as the intake keeps it in Redis. */
export interface PendingRefund {
  refundId: string;
  paymentId: string;
  merchantId: string;
  amountMinor: string;
  currency: string;
  reason?: string;
  description?: string;
  requestedAt: string;
}

export type Reservation = { kind: 'reserved'; amountMinor: string } | { kind: 'exceeds'; availableMinor: string };

/** How long a pending refund is held: far longer than a refund takes, short enough to heal a lost outcome. */
const PENDING_SECONDS = 24 * 3600;

/**
 * The intake's view of refunds in flight: per payment, a hash of pending refunds, so that concurrent
 * requests cannot together ask for more than is left, as far as the intake can see. Entries of
 * refunds that have an outcome in PostgreSQL are dropped on the next reservation. The ledger's lock
 * and constraints are the final guard: what slips past here ends DECLINED REFUND_EXCEEDS_PAYMENT.
 */
@Injectable()
export class RefundReservations {
  private readonly reserveOnce: LuaCommand;

  constructor(@Inject(REDIS) private readonly redis: RedisClient) {
    this.reserveOnce = luaCommand(redis, 'refundReserve', 1, RESERVE);
  }

  /** The ids of the payment's pending refunds (to drop those that ended before reserving). */
  async pendingIds(paymentId: string): Promise<string[]> {
    return this.redis.hkeys(this.keyOf(paymentId));
  }

  async pending(paymentId: string): Promise<PendingRefund[]> {
    return (await this.redis.hvals(this.keyOf(paymentId))).map((json) => JSON.parse(json) as PendingRefund);
  }

  /** The pending refund of this id, if the intake still holds it. */
  async find(refundId: string): Promise<PendingRefund | null> {
    const paymentId = await this.redis.get(this.indexOf(refundId));
    const json = paymentId ? await this.redis.hget(this.keyOf(paymentId), refundId) : null;
    return json ? (JSON.parse(json) as PendingRefund) : null;
  }

  /**
   * Reserves the refund in one script: drops `ended`, then takes `amountMinor` (or, when null, all
   * that is left) if the payment's `refundableMinor` still covers it next to the other pending ones.
   * The same refundId again keeps its first reservation. The refund's index is written first, on its
   * own (on a Redis Cluster it lives in another slot than the payment's hash): an index without a
   * reservation finds nothing, a reservation is never without its index.
   */
  async reserve(refund: Omit<PendingRefund, 'amountMinor'> & { amountMinor: string | null }, refundableMinor: bigint, ended: string[]): Promise<Reservation> {
    await this.redis.set(this.indexOf(refund.refundId), refund.paymentId, 'EX', PENDING_SECONDS);
    const [outcome, amount] = (await this.reserveOnce(
      this.keyOf(refund.paymentId),
      refund.refundId,
      refund.amountMinor ?? '',
      refundableMinor.toString(),
      JSON.stringify(refund),
      PENDING_SECONDS,
      ...ended,
    )) as [string, string];
    return outcome === 'reserved' ? { kind: 'reserved', amountMinor: amount } : { kind: 'exceeds', availableMinor: amount };
  }

  /** Gives the reservation back (the refund was not accepted). */
  async release(paymentId: string, refundId: string): Promise<void> {
    await this.redis.hdel(this.keyOf(paymentId), refundId);
  }

  private keyOf(paymentId: string): string {
    return `refunds-pending:${paymentId}`;
  }

  private indexOf(refundId: string): string {
    return `refund:${refundId}`;
  }
}

/**
 * KEYS: the payment's pending hash. ARGV: refundId, amount ('' = the rest), refundable, the pending
 * refund's JSON (amount filled in here), TTL, then the ids to drop. Amounts are integers of minor
 * units below 2^53 (the intake's limits keep them there), so Lua numbers hold them.
 */
const RESERVE = `
for i = 6, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end
local own = redis.call('HGET', KEYS[1], ARGV[1])
if own then return { 'reserved', cjson.decode(own).amountMinor } end
local pending = 0
for _, json in ipairs(redis.call('HVALS', KEYS[1])) do pending = pending + tonumber(cjson.decode(json).amountMinor) end
local available = tonumber(ARGV[3]) - pending
local amount = available
if ARGV[2] ~= '' then amount = tonumber(ARGV[2]) end
if amount <= 0 or amount > available then return { 'exceeds', string.format('%d', math.max(available, 0)) } end
local refund = cjson.decode(ARGV[4])
refund.amountMinor = string.format('%d', amount)
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(refund))
redis.call('EXPIRE', KEYS[1], ARGV[5])
return { 'reserved', refund.amountMinor }
`;
