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
