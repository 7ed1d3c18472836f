import { Inject, Injectable } from '@nestjs/common';
import { luaCommand, type LuaCommand } from '../redis/lua-command.js';
import { REDIS, type RedisClient } from '../redis/redis.module.js';
import { RedisKeySpace } from '../redis/key-space.js';

export interface VelocityWindow {
  /** Payments of this payer in the window, this one included. */
  count: number;
  /** Their total in minor units of this currency, this one included. */
  amountMinor: bigint;
  /** When the fraud stage first saw this payer (epoch ms). */
  firstSeenAt: number;
}

export interface VelocityEntry {
  userId: string;
  currency: string;
  paymentId: string;
  amountMinor: string;
}

/**
 * Sliding window per payer and currency in a sorted set scored by time. The member is the payment id
 * with its amount, so a redelivered payment is counted once; the first-seen time is set once. Records
 * a batch's payments in their order in one call (KEYS: window and first-seen of each; one call per
 * payer's hash slot on a cluster), so a payer's window counts that payer's earlier payments of the
 * same batch.
 */
const RECORD_SCRIPT = `
local now, windowMs, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local results = {}
for i = 1, #KEYS / 2 do
  local window, firstSeen, member = KEYS[i * 2 - 1], KEYS[i * 2], ARGV[3 + i]
  redis.call('ZREMRANGEBYSCORE', window, '-inf', now - windowMs)
  redis.call('ZADD', window, 'NX', now, member)
  redis.call('PEXPIRE', window, windowMs)
  redis.call('SET', firstSeen, now, 'NX', 'EX', ttl)
  local members = redis.call('ZRANGE', window, 0, -1)
  local total = 0
  for _, m in ipairs(members) do total = total + tonumber(string.match(m, ':(%d+)$')) end
  results[i] = { #members, tostring(total), redis.call('GET', firstSeen) }
end
return results
`;

/** Remembering a payer for a year is plenty to tell a new one from an old one. */
const FIRST_SEEN_TTL_SECONDS = 365 * 24 * 3600;

@Injectable()
export class VelocityStore {
  private readonly recordPayments: LuaCommand;

  constructor(
    @Inject(REDIS) redis: RedisClient,
    private readonly keySpace: RedisKeySpace,
  ) {
    this.recordPayments = luaCommand(redis, 'fraudVelocityRecordAll', 'dynamic', RECORD_SCRIPT);
  }

  /** Adds each payment to its payer's window, in order, and returns each window as it stood after its payment. */
  async recordAll(entries: VelocityEntry[], windowSeconds: number, now = Date.now()): Promise<VelocityWindow[]> {
    if (entries.length === 0) return [];
    const windows = await this.keySpace.perSlot(entries, (e) => this.firstSeenKeyOf(e.userId), async (payers) => {
      const keys = payers.flatMap((e) => [this.keySpace.key('fraud:velocity', e.userId, e.currency), this.firstSeenKeyOf(e.userId)]);
      const members = payers.map((e) => `${e.paymentId}:${e.amountMinor}`);
      return (await this.recordPayments(keys.length, ...keys, now, windowSeconds * 1000, FIRST_SEEN_TTL_SECONDS, ...members)) as [number, string, string][];
    });
    return windows.map(([count, total, firstSeen]) => ({ count, amountMinor: BigInt(total), firstSeenAt: Number(firstSeen) }));
  }

  /** The payer is the hash tag of both keys on a cluster. */
  private firstSeenKeyOf(userId: string): string {
    return this.keySpace.key('fraud:first-seen', userId);
  }
}
