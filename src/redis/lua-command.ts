import type { RedisClient } from './redis.module.js';

export type LuaCommand = (...args: (string | number)[]) => Promise<unknown>;

/**
 * The scripts that take any number of keys. The Cluster client must not auto-pipeline them (it would
 * route each by its key count), so it is built with this list; a new one is added here.
 */
export const DYNAMIC_KEY_SCRIPTS = ['paymentStateAppendAll', 'paymentStatuses', 'intakeClaimAll', 'intakeSettleAll', 'fraudVelocityRecordAll'] as const;

/**
 * A Lua script as a command of the client: ioredis sends EVALSHA (falling back to EVAL once if Redis
 * lacks the script, e.g. after a restart or on a node it has not run on), so hot paths don't send the
 * script's text with every call. Keys are prefixed like any other command's. A script that takes any
 * number of keys ('dynamic') is called with that number first, as EVALSHA itself is.
 */
export function luaCommand(redis: RedisClient, name: string, numberOfKeys: number | 'dynamic', lua: string): LuaCommand {
  if (numberOfKeys === 'dynamic' && !(DYNAMIC_KEY_SCRIPTS as readonly string[]).includes(name)) {
    throw new Error(`${name} takes any number of keys: add it to DYNAMIC_KEY_SCRIPTS`);
  }
  const commands = redis as unknown as Record<string, LuaCommand | undefined>;
  if (typeof commands[name] !== 'function') redis.defineCommand(name, numberOfKeys === 'dynamic' ? { lua } : { numberOfKeys, lua });
  const command = commands[name]!;
  return (...args) => command.apply(redis, args);
}
