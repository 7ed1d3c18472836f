import { EventPattern } from '@nestjs/microservices';
import { stageSpec, type Stage, type TopicName } from './stages.js';

/** Extras a stage handler carries; the transport reads them to build one consumer group per stage. */
export interface StageHandlerExtras {
  stage: Stage;
  /** Drop events of payments that already ended before the handler sees them (default true). */
  skipFinished: boolean;
}

/**
 * Marks a consumer-controller method as the batch handler of one pipeline stage: it reads the stage's
 * input topic from the stage table (`topic`: which, for a stage of several), gets an ordered batch of StageMessages (one partition's, or a
 * chunk of it) and returns one StageOutcome per message. A stage's handlers share its consumer group,
 * so stages scale and rebalance independently.
 */
export function StageHandler(stage: Stage, options: { skipFinished?: boolean; topic?: TopicName } = {}): MethodDecorator {
  const extras: StageHandlerExtras = { stage, skipFinished: options.skipFinished ?? true };
  const inputs: readonly TopicName[] = stageSpec(stage).inputs;
  const topic = options.topic ?? inputs[0];
  if (!inputs.includes(topic)) throw new Error(`Stage ${stage} does not read ${topic}`);
  return EventPattern<string>(topic, extras);
}
