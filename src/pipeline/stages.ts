import { deadLetterTopicOf } from '../kafka/kafka-topics.js';

/**
 * The topic map of the pipeline (see docs/ARCHITECTURE.md). Every payment event is keyed by userId,
 * so one payer's events stay in order on one partition through every stage.
 */
export const TOPICS = {
  /** intake → validation */
  initiated: 'payments.initiated',
  /** validation → fraud */
  validated: 'payments.validated',
  /** fraud → ledger */
  approved: 'payments.approved',
  /** every terminal outcome: completed, declined, rejected, failed */
  finalized: 'payments.finalized',
  /** intake → the ledger's refunds consumer */
  refundRequested: 'refunds.requested',
  /** every refund's outcome: succeeded, declined, failed */
  refundFinalized: 'refunds.finalized',
} as const;

export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];

/** The servers an instance cannot work without (its readiness). */
export type Dependency = 'kafka' | 'redis' | 'db';
export const DEPENDENCIES: readonly Dependency[] = ['kafka', 'redis', 'db'];

export interface StageSpec {
  stage: string;
  /** The topics its consumer group reads (one for each stage of the pipeline, both outcomes' for webhooks). */
  inputs: readonly TopicName[];
  /** Where it hands a payment on; null for the last stage. */
  output: TopicName | null;
  /** Where it announces the outcomes it ends; null for a stage that ends none (webhooks). */
  finalizes: TopicName | null;
  /**
   * What it cannot work without. Kafka and PostgreSQL for every stage (terminal rows). Redis only where
   * the decision needs it (fraud's velocity windows): the others update the Redis view best-effort,
   * so a Redis outage does not take them out of service.
   */
  dependencies: readonly Dependency[];
}

/**
 * The one stage table: the @StageHandler decorators, APP_ROLES, topic provisioning, health and the
 * consumer-lag gauges all read it. Each stage is one consumer group, `<prefix>payments-<stage>`.
 */
export const STAGE_TABLE = [
  { stage: 'validation', inputs: [TOPICS.initiated], output: TOPICS.validated, finalizes: TOPICS.finalized, dependencies: ['kafka', 'db'] },
  { stage: 'fraud', inputs: [TOPICS.validated], output: TOPICS.approved, finalizes: TOPICS.finalized, dependencies: ['kafka', 'redis', 'db'] },
  { stage: 'ledger', inputs: [TOPICS.approved], output: null, finalizes: TOPICS.finalized, dependencies: ['kafka', 'db'] },
  /** Refunds are posted by the ledger module, in a consumer group of their own (a payer's refunds keep their order). */
  { stage: 'refunds', inputs: [TOPICS.refundRequested], output: null, finalizes: TOPICS.refundFinalized, dependencies: ['kafka', 'db'] },
  /** Every outcome becomes a merchant's webhook event and its deliveries (PostgreSQL), before the offset is committed. */
  { stage: 'webhooks', inputs: [TOPICS.finalized, TOPICS.refundFinalized], output: null, finalizes: null, dependencies: ['kafka', 'db'] },
] as const satisfies readonly StageSpec[];

export type Stage = (typeof STAGE_TABLE)[number]['stage'];
export const STAGES: readonly Stage[] = STAGE_TABLE.map((s) => s.stage);

export function stageSpec(stage: Stage): StageSpec {
  return STAGE_TABLE.find((s) => s.stage === stage)!;
}

/**
 * The HTTP intake as the table sees it: it publishes payments.initiated and refunds.requested (and
 * their finalized topics, for what it could not confirm) and needs Redis for idempotency keys, order
 * claims and refund reservations.
 */
const API_ROLE = { topics: [TOPICS.initiated, TOPICS.finalized, TOPICS.refundRequested, TOPICS.refundFinalized], dependencies: DEPENDENCIES } as const;

/** Every topic the app creates at start-up: the table's, and the dead letters of each stage's inputs. */
export function allTopics(): string[] {
  const main = Object.values(TOPICS);
  return [...main, ...STAGE_TABLE.flatMap((s) => s.inputs.map(deadLetterTopicOf))];
}

/** What one instance runs (APP_ROLES): the HTTP API, and which stage consumers. */
export interface AppRoles {
  api: boolean;
  stages: ReadonlySet<Stage>;
  /** In the order api, validation, fraud, ledger: for logs and health details. */
  names: string[];
}

/**
 * The topics an instance with these roles reads or writes: its health needs only those. A stage reads
 * its input, writes its output, the finalized topic and its dead letters.
 */
export function topicsOfRoles(roles: Pick<AppRoles, 'api' | 'stages'>): string[] {
  const used = new Set<string>(roles.api ? API_ROLE.topics : []);
  for (const spec of STAGE_TABLE.filter((s) => roles.stages.has(s.stage))) {
    const inputs = spec.inputs as readonly TopicName[];
    [...inputs, ...inputs.map(deadLetterTopicOf), spec.finalizes, spec.output].forEach((t) => t && used.add(t));
  }
  return allTopics().filter((t) => used.has(t));
}

/** What an instance with these roles cannot work without. */
export function dependenciesOf(roles: Pick<AppRoles, 'api' | 'stages'>): Dependency[] {
  const needed = new Set<Dependency>(roles.api ? API_ROLE.dependencies : []);
  for (const spec of STAGE_TABLE.filter((s) => roles.stages.has(s.stage))) spec.dependencies.forEach((d) => needed.add(d));
  return DEPENDENCIES.filter((d) => needed.has(d));
}

/**
 * APP_ROLES → what this instance runs. `all` = api + every stage; `workers` = every stage. An unknown
 * name is a configuration error, reported like the environment's.
 */
export function rolesOf(text: string): AppRoles {
  const names = new Set<string>();
  for (const raw of text.split(',')) {
    const name = raw.trim();
    if (name === 'all') ['api', ...STAGES].forEach((n) => names.add(n));
    else if (name === 'workers') STAGES.forEach((n) => names.add(n));
    else if (name === 'api' || (STAGES as readonly string[]).includes(name)) names.add(name);
    else throw new Error(`Invalid configuration:\n  APP_ROLES: unknown role "${name}" (APP_ROLES="${text}")`);
  }
  const ordered = ['api', ...STAGES].filter((n) => names.has(n));
  return { api: names.has('api'), stages: new Set(STAGES.filter((s) => names.has(s))), names: ordered };
}
