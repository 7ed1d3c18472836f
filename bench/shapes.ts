/**
 * The deployment shapes `npm run bench` measures, and the app processes of one shape: started in
 * production mode, waited for, sampled (CPU, RSS, consumer lag), profiled and stopped.
 *
 *   single  one process running everything (APP_ROLES=all), as `npm start` does
 *   split   one API-only process (APP_ROLES=api) and N worker-only processes (APP_ROLES=workers),
 *           as `npm run local -- --workers N` does; ports P (the API) and P+1..P+N
 */
import { existsSync } from 'node:fs';
import { AppProcess } from '../tools/app-process.js';
import { summarizeProfile, type ProfileSummary } from './cpu-profile.js';

export const SHAPES = ['single', 'split'] as const;
export type ShapeName = (typeof SHAPES)[number];

export interface ShapeOptions {
  shape: ShapeName;
  /** Worker-only processes of the split shape. */
  workers: number;
  /** The API's port; worker processes take the next ones. */
  port: number;
  /** The app's environment, the same for every process of the shape (topic and Redis prefixes included). */
  env: NodeJS.ProcessEnv;
  nodeArgs: string[];
  /** Each process writes its profile to `<stem>-<shape>-<process>.cpuprofile`; null: no profile. */
  profileStem: string | null;
}

/** One process of a shape: the app, its roles, and where it writes its profile. */
export interface ShapeProcess {
  name: string;
  roles: 'all' | 'api' | 'workers';
  port: number;
  app: AppProcess;
  url: string;
  profileFile: string | null;
}

export interface ProcessFigures {
  name: string;
  roles: string;
  port: number;
  cpuSeconds: number;
  peakRssMb: number;
}

/** Sum of a metric's series in a process's Prometheus text (0 when it does not answer). */
export async function metricSum(baseUrl: string, name: string): Promise<number> {
  const series = await metricSeries(baseUrl, name);
  return [...series.values()].reduce((sum, value) => sum + value, 0);
}

/** A metric's series by label set, e.g. `{group="…",topic="…"}` → value. */
async function metricSeries(baseUrl: string, name: string): Promise<Map<string, number>> {
  const text = await fetch(`${baseUrl}/metrics`).then((r) => r.text(), () => '');
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const value = Number(line.split(' ').at(-1));
    const labels = line.slice(name.length, line.lastIndexOf(' '));
    series.set(labels, (series.get(labels) ?? 0) + value);
  }
  return series;
}

/**
 * Ready, and answered by this very process: on a shared machine another app may already hold the
 * port, and its answers would pass for ours (its liveness says its pid).
 */
async function ready(p: ShapeProcess): Promise<void> {
  await p.app.waitReady();
  const liveness = (await fetch(`${p.url}/health/liveness`).then((r) => r.json(), () => null)) as { components?: { livenessState?: { details?: { pid?: number } } } } | null;
  if (liveness?.components?.livenessState?.details?.pid !== p.app.pid) throw new Error(`port ${p.port} is answered by another process than ${p.name} (pid ${p.app.pid}); pick another with --port`);
}

/** The running processes of one shape, from start to stop. */
export class Deployment {
  private sampler?: NodeJS.Timeout;
  private readonly peakRss = new Map<string, number>();
  private cpuAtStart = new Map<string, number>();
  peakConsumerLag = 0;

  private constructor(
    readonly shape: ShapeName,
    readonly processes: ShapeProcess[],
  ) {}

  /** Starts the API-serving process first (it creates the topics), then the workers, and waits until every stage partition is held. */
  static async start(options: ShapeOptions, partitions: number): Promise<Deployment> {
    const plan: Pick<ShapeProcess, 'name' | 'roles' | 'port'>[] =
      options.shape === 'single'
        ? [{ name: 'all', roles: 'all', port: options.port }]
        : [
            { name: 'api', roles: 'api', port: options.port },
            ...Array.from({ length: options.workers }, (_, i) => ({ name: `worker-${i + 1}`, roles: 'workers' as const, port: options.port + i + 1 })),
          ];
    const deployment = new Deployment(options.shape, []);
    try {
      const [first, ...rest] = plan;
      await ready(deployment.launch(options, first, false));
      // A worker-only process serves /health and /metrics on its port (its /api routes answer 404).
      await Promise.all(rest.map((p) => ready(deployment.launch(options, p, true))));
      await deployment.waitUntilAssigned(partitions);
    } catch (error) {
      await deployment.stop();
      throw error;
    }
    return deployment;
  }

  private launch(options: ShapeOptions, p: Pick<ShapeProcess, 'name' | 'roles' | 'port'>, extra: boolean): ShapeProcess {
    const profileFile = options.profileStem && `${options.profileStem}-${options.shape}-${p.name}.cpuprofile`;
    const env = {
      ...options.env,
      APP_ROLES: p.roles,
      KAFKA_CLIENT_ID: `bench-${options.shape}-${p.name}`,
      // Migrations ran before the shape started; processes starting together must not race on them.
      ...(extra && { DB_MIGRATIONS_RUN: 'false' }),
      ...(profileFile && { BENCH_CPU_PROFILE: profileFile }),
    };
    const nodeArgs = [...options.nodeArgs, ...(profileFile ? ['--import', './bench/cpu-profile-preload.mjs'] : [])];
    const app = new AppProcess({ name: p.name, port: p.port, env, nodeArgs, output: 'inherit' }).start();
    const started: ShapeProcess = { ...p, app, url: app.url, profileFile };
    this.processes.push(started);
    return started;
  }

  /** Fails when a process of the shape has exited: its figures would be those of a broken deployment. */
  assertRunning(): void {
    const gone = this.processes.filter((p) => !p.app.running);
    if (gone.length > 0) throw new Error(`${this.shape}: ${gone.map((p) => `${p.name} exited (${p.app.exitStatus})`).join(', ')}`);
  }

  /** The process the load drives. */
  get api(): ShapeProcess {
    return this.processes[0];
  }

  /** The processes that run the stages (and whose consumers hold the partitions). */
  get stageProcesses(): ShapeProcess[] {
    return this.processes.filter((p) => p.roles !== 'api');
  }

  /**
   * Readiness does not wait for the consumer groups: without this, the rebalance of N workers joining
   * would fall into the measured load. Done when, for every group and topic, the stage processes hold
   * `partitions` partitions between them (30 s at most; then the run goes on and says so).
   */
  private async waitUntilAssigned(partitions: number): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const held = new Map<string, number>();
      for (const p of this.stageProcesses) {
        for (const [labels, n] of await metricSeries(p.url, 'kafka_consumer_assigned_partitions')) held.set(labels, (held.get(labels) ?? 0) + n);
      }
      if (held.size >= 3 && [...held.values()].every((n) => n === partitions)) return;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    console.warn(`[bench] ${this.shape}: the stage partitions were not all assigned within 30 s; measuring anyway`);
  }

  /** From the start of the load: CPU readings, then RSS and consumer lag every second; and the profilers. */
  startMeasuring(profile: boolean): void {
    this.cpuAtStart = new Map(this.processes.map((p) => [p.name, p.app.usage().cpuSeconds]));
    const sample = () => {
      if (this.processes.some((p) => !p.app.running)) return;
      for (const p of this.processes) this.peakRss.set(p.name, Math.max(this.peakRss.get(p.name) ?? 0, p.app.usage().rssMb));
      // Every process reports the lag of the whole groups (asked of the broker), not of its own
      // partitions: summing over processes would count it once per process, so take the largest.
      void Promise.all(this.stageProcesses.map((p) => metricSum(p.url, 'kafka_consumer_lag'))).then(
        (lags) => (this.peakConsumerLag = Math.max(this.peakConsumerLag, ...lags)),
      );
    };
    sample();
    this.sampler = setInterval(sample, 1000);
    if (profile) for (const p of this.processes) p.app.signal('SIGUSR2');
  }

  /** Per process, from startMeasuring until now: CPU seconds (user + system) and peak RSS. */
  finishMeasuring(): ProcessFigures[] {
    clearInterval(this.sampler);
    return this.processes.map((p) => {
      const usage = p.app.usage();
      return {
        name: p.name,
        roles: p.roles,
        port: p.port,
        cpuSeconds: usage.cpuSeconds - (this.cpuAtStart.get(p.name) ?? usage.cpuSeconds),
        peakRssMb: Math.round(Math.max(this.peakRss.get(p.name) ?? 0, usage.rssMb)),
      };
    });
  }

  /** SIGTERM to every process (the profiler preload writes its file then), and waits for them to exit. */
  async stop(): Promise<void> {
    clearInterval(this.sampler);
    await Promise.all(this.processes.map((p) => p.app.stop()));
  }

  /** After stop(): each process's profile, summarized. */
  profiles(): ({ process: string; file: string } & ProfileSummary)[] {
    return this.processes
      .filter((p) => p.profileFile && existsSync(p.profileFile))
      .map((p) => ({ process: p.name, file: p.profileFile!, ...summarizeProfile(p.profileFile!) }));
  }
}
