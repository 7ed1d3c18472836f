import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * Keeps `npm run bench` from rotting: a few seconds of it against the real stack (test database),
 * checking that it measures, drains and verifies. Speed itself is never asserted here.
 */
describe('benchmark smoke run', () => {
  it('should measure intake and end to end, drain every accepted payment and find the ledger balanced', () => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.bench.json'], { stdio: 'ignore' });
    const output = execFileSync(
      'node',
      ['.cache/bench-build/bench/run.js', '--duration', '2', '--connections', '4', '--no-baselines', '--port', '8097'],
      { env: { ...process.env, DB_NAME: process.env.TEST_DB_NAME ?? 'payments_test' }, encoding: 'utf8', timeout: 240_000 },
    );
    const file = /written: (\S+\.json)/.exec(output)?.[1];
    expect(file).toBeDefined();
    const result = JSON.parse(readFileSync(file!, 'utf8'));
    expect(result.intake.accepted).toBeGreaterThan(0);
    expect(result.intake.acceptedPerSecond).toBeGreaterThan(0);
    expect(result.correctness).toMatchObject({ allAcceptedTerminal: true, ledgerInvariantViolations: 0 });
    expect(result.correctness.terminal).toBe(result.intake.accepted);
    expect(result.endToEnd.outcomes.COMPLETED).toBe(result.intake.accepted);
  });
});
