import type { Provider } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';

/**
 * What the intake reads of the configuration: the payment settings (limits, key TTL, the paymentId
 * namespace, retention), the rate limit it counts in its claim script, how long it waits for Kafka's
 * acknowledgement, and how loudly it traces each payment.
 */
export type IntakeSettings = AppConfig['payments'] & {
  rateLimit: AppConfig['security']['rateLimit'];
  publishTimeoutMs: number;
  traceLevel: AppConfig['paymentTraceLevel'];
};

/** Injection token of the IntakeSettings. */
export const INTAKE_SETTINGS = Symbol('INTAKE_SETTINGS');

export function intakeSettingsOf(config: AppConfig): IntakeSettings {
  return { ...config.payments, rateLimit: config.security.rateLimit, publishTimeoutMs: config.kafka.publishTimeoutMs, traceLevel: config.paymentTraceLevel };
}

export const intakeSettingsProvider: Provider = { provide: INTAKE_SETTINGS, inject: [AppConfig], useFactory: intakeSettingsOf };
