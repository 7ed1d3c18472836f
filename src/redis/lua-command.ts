import type { Redis } from 'ioredis';

export type LuaCommand = (...args: (string | number)[]) => Promise<unknown>;

/**
 * A Lua script as a command of the client: ioredis sends EVALSHA (falling back to EVAL once if Redis
 * lacks the script, e.g. after a restart), so hot paths don't send the script's text with every call.
 * Keys are prefixed like any other command's. A script that takes any number of keys ('dynamic') is
 * called with that number first, as EVALSHA itself is.
 */
export function luaCommand(redis: Redis, name: string, numberOfKeys: number | 'dynamic', lua: string): LuaCommand {
  const commands = redis as unknown as Record<string, LuaCommand | undefined>;
  if (typeof commands[name] !== 'function') redis.defineCommand(name, numberOfKeys === 'dynamic' ? { lua } : { numberOfKeys, lua });
  const command = commands[name]!;
  return (...args) => command.apply(redis, args);
}
