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
} as const;

export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];

/**
 * Spring Kafka's dead-letter naming, so Kafka users find them where they expect. There are no
 * `-retry` topics: stages retry in place, because a retry topic would reorder one payer's payments.
 */
export const deadLetterTopicOf = (topic: string): string => `${topic}-dlt`;

/** Every topic the app creates at start-up. */
export function allTopics(): string[] {
  const main = Object.values(TOPICS);
  return [...main, ...main.filter((t) => t !== TOPICS.finalized).map(deadLetterTopicOf)];
}

/**
 * The topics an instance with these roles reads or writes: its health needs only those. The API
 * publishes payments.initiated (and finalized, for a payment it could not confirm); a stage reads its
 * input, writes the next topic, the finalized topic and its dead letters.
 */
export function topicsOfRoles(roles: { api: boolean; stages: ReadonlySet<string> }): string[] {
  const used = new Set<string>();
  if (roles.api) [TOPICS.initiated, TOPICS.finalized].forEach((t) => used.add(t));
  const byStage: Record<string, [string, string | null]> = {
    validation: [TOPICS.initiated, TOPICS.validated],
    fraud: [TOPICS.validated, TOPICS.approved],
    ledger: [TOPICS.approved, null],
  };
  for (const stage of roles.stages) {
    const [input, output] = byStage[stage] ?? [];
    if (!input) continue;
    [input, deadLetterTopicOf(input), TOPICS.finalized, ...(output ? [output] : [])].forEach((t) => used.add(t));
  }
  return allTopics().filter((t) => used.has(t));
}
