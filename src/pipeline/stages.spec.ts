import { describe, expect, it } from '@jest/globals';
import { AppConfig } from '../config/app-config.js';
import { allTopics, dependenciesOf, rolesOf as rolesOfRoles, STAGE_TABLE, topicsOfRoles, type Stage } from './stages.js';

describe('topicsOfRoles', () => {
  const roles = (api: boolean, ...stages: Stage[]) => ({ api, stages: new Set(stages) });

  it('should be every topic for an instance running everything', () => {
    expect(topicsOfRoles(roles(true, 'validation', 'fraud', 'ledger', 'refunds', 'webhooks'))).toEqual(allTopics());
  });

  it('should be what the intake publishes for an API-only instance', () => {
    expect(topicsOfRoles(roles(true))).toEqual(['payments.initiated', 'payments.finalized', 'refunds.requested', 'refunds.finalized']);
  });

  it("should be a stage's input, output, finalized and its dead letters", () => {
    expect(topicsOfRoles(roles(false, 'fraud'))).toEqual(['payments.validated', 'payments.approved', 'payments.finalized', 'payments.validated-dlt']);
    expect(topicsOfRoles(roles(false, 'ledger'))).toEqual(['payments.approved', 'payments.finalized', 'payments.approved-dlt']);
    expect(topicsOfRoles(roles(false, 'refunds'))).toEqual(['refunds.requested', 'refunds.finalized', 'refunds.requested-dlt']);
    expect(topicsOfRoles(roles(false, 'webhooks'))).toEqual(['payments.finalized', 'refunds.finalized', 'payments.finalized-dlt', 'refunds.finalized-dlt']);
  });
});

describe('APP_ROLES', () => {
  const rolesOf = (APP_ROLES?: string) => rolesOfRoles(AppConfig.fromEnvironment(APP_ROLES === undefined ? {} : { APP_ROLES }).appRoles);

  it('should run everything by default', () => {
    expect(rolesOf()).toEqual({ api: true, stages: new Set(['validation', 'fraud', 'ledger', 'refunds', 'webhooks']), names: ['api', 'validation', 'fraud', 'ledger', 'refunds', 'webhooks'] });
  });

  it('should take a comma list, in any order, with "workers" for every stage', () => {
    expect(rolesOf('api')).toEqual({ api: true, stages: new Set(), names: ['api'] });
    expect(rolesOf('ledger, validation')).toEqual({ api: false, stages: new Set(['validation', 'ledger']), names: ['validation', 'ledger'] });
    expect(rolesOf('workers').names).toEqual(['validation', 'fraud', 'ledger', 'refunds', 'webhooks']);
  });

  it('should refuse an unknown role', () => {
    expect(() => rolesOf('api,payments')).toThrow(/APP_ROLES="api,payments"/);
    expect(() => rolesOf(',')).toThrow(/APP_ROLES/);
  });
});

describe('dependenciesOf (readiness per APP_ROLES)', () => {
  const roles = (api: boolean, ...stages: Stage[]) => ({ api, stages: new Set(stages) });

  it('should need Redis for the API and the fraud stage only', () => {
    expect(dependenciesOf(roles(true, 'validation', 'fraud', 'ledger'))).toEqual(['kafka', 'redis', 'db']);
    expect(dependenciesOf(roles(true))).toEqual(['kafka', 'redis', 'db']);
    expect(dependenciesOf(roles(false, 'fraud'))).toEqual(['kafka', 'redis', 'db']);
    expect(dependenciesOf(roles(false, 'validation', 'ledger'))).toEqual(['kafka', 'db']);
  });
});

describe('STAGE_TABLE', () => {
  it('should chain the payment stages (each reads what the one before writes), keep refunds a stage of their own, and feed webhooks every outcome', () => {
    expect(STAGE_TABLE.map((s) => [s.stage, s.inputs, s.output, s.finalizes])).toEqual([
      ['validation', ['payments.initiated'], 'payments.validated', 'payments.finalized'],
      ['fraud', ['payments.validated'], 'payments.approved', 'payments.finalized'],
      ['ledger', ['payments.approved'], null, 'payments.finalized'],
      ['refunds', ['refunds.requested'], null, 'refunds.finalized'],
      ['webhooks', ['payments.finalized', 'refunds.finalized'], null, null],
    ]);
  });
});
