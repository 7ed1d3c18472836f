import { describe, expect, it } from '@jest/globals';
import { MetricsService } from './metrics.service.js';

describe('MetricsService.partitionsAssigned', () => {
  it("should set each subscribed topic's share, including 0 for a topic this member lost in the rebalance", async () => {
    const metrics = new MetricsService();
    metrics.partitionsAssigned('spec-group', ['t.a', 't.b'], { 't.a': [0, 2, 4], 't.b': [1] });
    metrics.partitionsAssigned('spec-group', ['t.a', 't.b'], { 't.a': [0, 1, 2, 3, 4, 5] });
    const values = (await metrics.kafkaAssignedPartitions.get()).values.filter((v) => v.labels.group === 'spec-group');
    expect(values.map((v) => [v.labels.topic, v.value])).toEqual([
      ['t.a', 6],
      ['t.b', 0],
    ]);
  });
});
