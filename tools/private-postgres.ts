/** The private servers' PostgreSQL: a throwaway cluster (initdb, pg_ctl) run as the postgres user. */
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './commands.js';

/**
 * initdb and pg_ctl: from PATH when there (this machine links them into /usr/local/bin), else from
 * Debian's /usr/lib/postgresql/<newest>/bin, where the postgresql package puts them off PATH.
 */
function postgresTool(tool: string): string {
  const onPath = (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(join(dir, tool)));
  if (onPath) return tool;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', tool))) : [];
  const newest = versions.sort((a, b) => Number(a) - Number(b)).at(-1);
  if (!newest) throw new Error(`${tool} not found on PATH nor in ${root}/*/bin: install the postgresql package`);
  return join(root, newest, 'bin', tool);
}

export class PrivatePostgres {
  /** PostgreSQL must own its data directory and cannot enter /root: its cluster lives under the temp dir. */
  readonly dir: string;

  constructor(
    private readonly port: number,
    private readonly log: (line: string) => void,
  ) {
    this.dir = join(tmpdir(), `payments-chaos-pg-${port}`);
  }

  private get data(): string {
    return join(this.dir, 'data');
  }

  /** Whether its server runs (or died without cleaning up its pid file). */
  get running(): boolean {
    return existsSync(join(this.data, 'postmaster.pid'));
  }

  /** Runs a PostgreSQL server tool as the postgres user (the server refuses to run as root). */
  private asPostgres([tool, ...args]: string[], timeoutMs = 120_000): Promise<string> {
    return run('runuser', ['-u', 'postgres', '--', postgresTool(tool), ...args], { ...process.env, PGTZ: 'UTC' }, timeoutMs);
  }

  async init(): Promise<void> {
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.dir, { recursive: true });
    chmodSync(this.dir, 0o755);
    await run('chown', ['postgres:postgres', this.dir]);
    // Trust auth on loopback only: a throwaway cluster nobody else can reach.
    await this.asPostgres(['initdb', '-D', this.data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']);
  }

  async start(): Promise<void> {
    const started = Date.now();
    await this.asPostgres([
      'pg_ctl', '-D', this.data, '-l', join(this.dir, 'postgres.log'), '-w', '-t', '60',
      '-o', `-p ${this.port} -c listen_addresses=127.0.0.1 -k ${this.dir} -c max_connections=100`,
      'start',
    ]);
    this.log(`postgres up on ${this.port} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }

  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.asPostgres(['pg_ctl', '-D', this.data, '-m', mode, '-w', '-t', '60', 'stop']);
    this.log(`postgres on ${this.port} stopped (${mode})`);
  }

  async createDatabase(database: string): Promise<void> {
    await run('psql', ['-X', '-q', '-h', '127.0.0.1', '-p', String(this.port), '-U', 'postgres', '-d', 'postgres', '-c', `CREATE DATABASE ${database}`]);
  }

  removeData(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
