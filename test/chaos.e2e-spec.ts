import { describe, expect, it } from '@jest/globals';
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * The short version of `npm run chaos` (about 3 minutes): four of the six faults briefly, at a low rate,
 * on the runner's own private Kafka, Redis and PostgreSQL, never the shared servers. `--slot auto` takes
 * the first free slot from 1, so its ports differ from a long run's (slot 0) and from another `npm test`
 * running at the same time. The combined fault also kills an app and stops Kafka, standing in for
 * app-kill and kafka-restart; `npm run chaos` runs all six. It asserts what the long run asserts: nothing
 * accepted is lost, doubled or stuck, every accepted payment ends within the bound, and the deployment
 * verifier finds no violation.
 */
const FAULTS = ['redis-wipe', 'postgres-restart', 'rebalance-kill', 'combined'];

describe('chaos (short): faults one at a time and together, on private servers', () => {
  it('should lose, double and strand nothing through each fault and all of them at once', async () => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.chaos.json'], { stdio: 'ignore' });
    const output = await new Promise<string>((resolve, reject) => {
      execFile(
        'node',
        ['.cache/chaos-build/chaos/run.js', '--duration', '6', '--outage', '2', '--rate', '40', '--terminal-bound', '90', '--slot', 'auto', '--faults', FAULTS.join(',')],
        { encoding: 'utf8', timeout: 330_000, maxBuffer: 64 * 1024 * 1024 },
        // The runner exits 1 on any failure; its table says which, so it is read either way.
        (error, stdout, stderr) => (stdout.includes('written: ') ? resolve(stdout) : reject(new Error(`${error?.message}\n${stdout}\n${stderr}`))),
      );
    });
    const file = /written: (\S+\.json)/.exec(output)?.[1];
    const summary = JSON.parse(readFileSync(file!, 'utf8'));
    const table = output.slice(output.indexOf('# Chaos run'));
    expect(summary.results.map((r: { fault: string }) => r.fault)).toEqual(FAULTS);
    for (const r of summary.results) {
      expect({ fault: r.fault, error: r.error, lost: r.lost, doubled: r.doubled, completedBehind503: r.completedBehind503, stuck: r.stuck, verifyViolations: r.verifyViolations, allTerminal: r.timeToAllTerminalSeconds !== null }).toEqual({
        fault: r.fault,
        error: undefined,
        lost: 0,
        doubled: 0,
        completedBehind503: 0,
        stuck: 0,
        verifyViolations: 0,
        allTerminal: true,
      });
      expect(r.accepted).toBeGreaterThan(0);
    }
    // The faults that take away what the intake needs (Redis; Kafka in combined) must really have
    // refused requests with 503: otherwise completedBehind503 = 0 above says nothing.
    const refused = Object.fromEntries(summary.results.map((r: { fault: string; unavailable503: number }) => [r.fault, r.unavailable503 > 0]));
    expect({ 'redis-wipe': refused['redis-wipe'], combined: refused.combined }).toEqual({ 'redis-wipe': true, combined: true });
    expect(summary.passed).toBe(true);
    console.log(table);
  }, 360_000);
});
