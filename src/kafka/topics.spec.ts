import { describe, expect, it } from '@jest/globals';
import { allTopics, topicsOfRoles } from './topics.js';

describe('topicsOfRoles', () => {
  const roles = (api: boolean, ...stages: string[]) => ({ api, stages: new Set(stages) });

  it('should be every topic for an instance running everything', () => {
    expect(topicsOfRoles(roles(true, 'validation', 'fraud', 'ledger'))).toEqual(allTopics());
  });

  it('should be what the intake publishes for an API-only instance', () => {
    expect(topicsOfRoles(roles(true))).toEqual(['payments.initiated', 'payments.finalized']);
  });

  it("should be a stage's input, output, finalized and its dead letters", () => {
    expect(topicsOfRoles(roles(false, 'fraud'))).toEqual(['payments.validated', 'payments.approved', 'payments.finalized', 'payments.validated-dlt']);
    expect(topicsOfRoles(roles(false, 'ledger'))).toEqual(['payments.approved', 'payments.finalized', 'payments.approved-dlt']);
  });
});
