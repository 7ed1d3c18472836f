import { describe, expect, it } from '@jest/globals';
import { toActuator } from './health-reporter.js';

describe('toActuator', () => {
  it("should answer UP (200) in Actuator's shape when every component is up", () => {
    const report = toActuator({
      status: 'ok',
      details: { kafka: { status: 'up', brokers: 1 }, redis: { status: 'up', latencyMs: 1 }, db: { status: 'up' } },
    });
    expect(report).toEqual({
      httpStatus: 200,
      body: {
        status: 'UP',
        components: {
          kafka: { status: 'UP', details: { brokers: 1 } },
          redis: { status: 'UP', details: { latencyMs: 1 } },
          db: { status: 'UP', details: {} },
        },
      },
    });
  });

  it('should answer DOWN (503) when one component is down, keeping its message', () => {
    const report = toActuator({
      status: 'error',
      details: { kafka: { status: 'up' }, redis: { status: 'down', message: 'ECONNREFUSED' }, db: { status: 'up' } },
    });
    expect(report.httpStatus).toBe(503);
    expect(report.body.status).toBe('DOWN');
    expect(report.body.components?.redis).toEqual({ status: 'DOWN', details: { message: 'ECONNREFUSED' } });
    expect(report.body.components?.kafka.status).toBe('UP');
  });
});
