import type { Redis } from 'ioredis';

/**
 * A Redis for unit specs: its scripts answer from a queue (the last answer repeats; an Error is thrown,
 * as a failed call's), its commands run the given functions; every call is recorded.
 */
export function fakeRedis(scriptAnswers: Record<string, unknown[]> = {}, commands: Record<string, (...args: unknown[]) => unknown> = {}) {
  const calls: string[] = [];
  const redis: Record<string, unknown> = {
    defineCommand(name: string) {
      redis[name] = async (...args: unknown[]) => {
        calls.push(`${name} ${args.join(' ')}`);
        const queue = scriptAnswers[name] ?? [];
        const answer = queue.length > 1 ? queue.shift() : queue[0];
        if (answer instanceof Error) throw answer;
        return answer;
      };
    },
    ...Object.fromEntries(
      Object.entries(commands).map(([name, run]) => [
        name,
        async (...args: unknown[]) => {
          calls.push(`${name} ${args.join(' ')}`);
          return run(...args);
        },
      ]),
    ),
  };
  return { redis: redis as unknown as Redis, calls };
}
