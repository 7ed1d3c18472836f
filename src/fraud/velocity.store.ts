import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { luaCommand, type LuaCommand } from '../redis/lua-command.js';
import { REDIS } from '../redis/redis.module.js';

export interface VelocityWindow {
  /** Payments of this payer in the window, this one included. */
  count: number;
  /** Their total in minor units of this currency, this one included. */
  amountMinor: bigint;
  /** When the fraud stage first saw this payer (epoch ms). */
  firstSeenAt: number;
}

/**
 * Sliding window per payer and currency in a sorted set scored by time. The member is the payment id
 * with its amount, so a redelivered payment is counted once; the first-seen time is set once.
 */
const RECORD_SCRIPT = `
local window, firstSeen = KEYS[1], KEYS[2]
local now, windowMs, member, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', window, '-inf', now - windowMs)
redis.call('ZADD', window, 'NX', now, member)
redis.call('PEXPIRE', window, windowMs)
redis.call('SET', firstSeen, now, 'NX', 'EX', ttl)
local members = redis.call('ZRANGE', window, 0, -1)
local total = 0
for _, m in ipairs(members) do total = total + tonumber(string.match(m, ':(%d+)$')) end
return { #members, tostring(total), redis.call('GET', firstSeen) }
`;

/** Remembering a payer for a year is plenty to tell a new one from an old one. */
const FIRST_SEEN_TTL_SECONDS = 365 * 24 * 3600;

@Injectable()
export class VelocityStore {
  private readonly recordPayment: LuaCommand;

  constructor(@Inject(REDIS) redis: Redis) {
    this.recordPayment = luaCommand(redis, 'fraudVelocityRecord', 2, RECORD_SCRIPT);
  }

  async record(userId: string, currency: string, paymentId: string, amountMinor: string, windowSeconds: number, now = Date.now()): Promise<VelocityWindow> {
    const [count, total, firstSeen] = (await this.recordPayment(
      `fraud:velocity:${userId}:${currency}`,
      `fraud:first-seen:${userId}`,
      now,
      windowSeconds * 1000,
      `${paymentId}:${amountMinor}`,
      FIRST_SEEN_TTL_SECONDS,
    )) as [number, string, string];
    return { count, amountMinor: BigInt(total), firstSeenAt: Number(firstSeen) };
  }
}
