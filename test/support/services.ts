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

/** The local Redis server; started with the same flags as scripts/stack.sh would (no persistence). */
export function redis(command: 'start' | 'stop'): void {
  if (command === 'stop') {
    execFileSync('redis-cli', ['-h', '127.0.0.1', 'shutdown', 'nosave'], { stdio: 'ignore', timeout: 10_000 });
    return;
  }
  if (redisIsUp()) return;
  execFileSync(
    'redis-server',
    ['--daemonize', 'yes', '--bind', '127.0.0.1', '-::1', '--port', '6379', '--save', '', '--appendonly', 'no', '--dir', '/var/lib/redis', '--logfile', '/var/log/redis/ci.log'],
    { stdio: 'ignore', timeout: 10_000 },
  );
  for (let i = 0; i < 50 && !redisIsUp(); i++) execFileSync('sleep', ['0.1']);
}

function redisIsUp(): boolean {
  try {
    return execFileSync('redis-cli', ['-h', '127.0.0.1', 'ping'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 2_000 }).trim() === 'PONG';
  } catch {
    return false;
  }
}
