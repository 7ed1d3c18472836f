import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

/** Stops and starts the real servers the e2e tests run against, to test behaviour through outages. */
export function broker(command: 'start' | 'stop'): void {
  execFileSync('bash', ['scripts/kafka.sh', command], { stdio: 'ignore', timeout: 90_000 });
}

/** The local Debian PostgreSQL cluster, when there is one (this machine and CI); null elsewhere. */
export const postgresCluster: string | null =
  existsSync('/etc/postgresql') && readdirSync('/etc/postgresql').length > 0 ? readdirSync('/etc/postgresql').sort().at(-1)! : null;

export function postgres(command: 'start' | 'stop'): void {
  if (!postgresCluster) throw new Error('No local PostgreSQL cluster to control');
  // pg_ctlcluster fails when asked for the state the cluster is already in.
  if ((command === 'start') === postgresIsUp()) return;
  const args = ['--skip-systemctl-redirect', postgresCluster, 'main', command, ...(command === 'stop' ? ['-m', 'fast'] : [])];
  execFileSync('pg_ctlcluster', args, { stdio: 'ignore', timeout: 60_000 });
}

function postgresIsUp(): boolean {
  try {
    execFileSync('pg_isready', ['-q', '-h', '127.0.0.1', '-t', '2'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
