import { Injectable, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckService, type HealthCheckResult, type HealthIndicatorFunction } from '@nestjs/terminus';
import { AppConfig } from '../config/app-config.js';
import { dependenciesOf, rolesOf, type Dependency } from '../pipeline/stages.js';
import { DatabaseHealthIndicator } from './database.health.js';
import { KafkaHealthIndicator } from './kafka.health.js';
import { RedisHealthIndicator } from './redis.health.js';

export type ActuatorStatus = 'UP' | 'DOWN';

export interface ActuatorComponent {
  status: ActuatorStatus;
  details?: Record<string, unknown>;
}

/** Spring Boot Actuator's health shape, which monitors and Spring Boot Admin already read. */
export interface ActuatorHealth {
  status: ActuatorStatus;
  components?: Record<string, ActuatorComponent>;
  /** On the root only, as Spring Boot lists its probe groups there. */
  groups?: string[];
}

/** Spring Boot's probe groups (management.endpoint.health.probes.enabled): /health/liveness, /health/readiness. */
export const HEALTH_GROUPS = ['liveness', 'readiness'];

export interface HealthReport {
  httpStatus: 200 | 503;
  body: ActuatorHealth;
}

/**
 * Runs the Terminus indicators and answers in Actuator's shape: the overall status is DOWN (HTTP 503)
 * when any component is down. Terminus reports a failure by throwing its own report; it is caught
 * here, so the failure body never goes through the API's error filter.
 */
@Injectable()
export class HealthReporter {
  private readonly started = Date.now();

  /** What this instance's roles cannot work without (its readiness). */
  private readonly needed: Dependency[];

  constructor(
    private readonly health: HealthCheckService,
    private readonly kafka: KafkaHealthIndicator,
    private readonly redis: RedisHealthIndicator,
    private readonly db: DatabaseHealthIndicator,
    config: AppConfig,
  ) {
    this.needed = dependenciesOf(rolesOf(config.appRoles));
  }

  /** The process only: it answers, so it is alive. Never asks a dependency (a restart would not help them). */
  liveness(): HealthReport {
    const details = { pid: process.pid, uptimeSeconds: Math.round((Date.now() - this.started) / 1000) };
    return { httpStatus: 200, body: { status: 'UP', components: { livenessState: { status: 'UP', details } } } };
  }

  /**
   * The root (`/health`, `/actuator/health`), as Spring Boot answers it with probes on: every
   * dependency, the liveness and readiness states as components, and the groups.
   */
  async overall(): Promise<HealthReport> {
    const readiness = await this.readiness();
    const components = {
      ...readiness.body.components,
      livenessState: { status: 'UP' as const },
      readinessState: { status: readiness.body.status },
    };
    const sorted = Object.fromEntries(Object.entries(components).sort(([a], [b]) => a.localeCompare(b)));
    return { httpStatus: readiness.httpStatus, body: { status: readiness.body.status, components: sorted, groups: HEALTH_GROUPS } };
  }

  /** Whether the app can do its work: every dependency its roles (APP_ROLES) use answers. */
  readiness(): Promise<HealthReport> {
    return this.dependencies(this.needed);
  }

  async dependencies(names: readonly Dependency[]): Promise<HealthReport> {
    const indicators: Record<Dependency, HealthIndicatorFunction> = {
      kafka: () => this.kafka.check('kafka'),
      redis: () => this.redis.check('redis'),
      db: () => this.db.check('db'),
    };
    let result: HealthCheckResult;
    try {
      result = await this.health.check(names.map((name) => indicators[name]));
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      result = error.getResponse() as HealthCheckResult;
    }
    return toActuator(result);
  }
}

/** Terminus' `{status: ok|error, details: {key: {status: up|down, ...}}}` as Actuator's components. */
export function toActuator(result: HealthCheckResult): HealthReport {
  const components: Record<string, ActuatorComponent> = {};
  for (const [key, { status, ...details }] of Object.entries(result.details ?? {})) {
    components[key] = { status: status === 'down' ? 'DOWN' : 'UP', details };
  }
  const down = result.status === 'error' || result.status === 'shutting_down' || Object.values(components).some((c) => c.status === 'DOWN');
  return { httpStatus: down ? 503 : 200, body: { status: down ? 'DOWN' : 'UP', components } };
}
