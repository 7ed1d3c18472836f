import type { Provider } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';

/** What the Redis view reads of the configuration: how long it keeps a payment, how long the global stream grows. */
export interface StateSettings {
  stateRetentionSeconds: number;
  globalStreamMaxLen: number;
}

/** Injection token of the StateSettings. */
export const STATE_SETTINGS = Symbol('STATE_SETTINGS');

export function stateSettingsOf(config: AppConfig): StateSettings {
  return { stateRetentionSeconds: config.payments.stateRetentionSeconds, globalStreamMaxLen: config.payments.globalStreamMaxLen };
}

export const stateSettingsProvider: Provider = { provide: STATE_SETTINGS, inject: [AppConfig], useFactory: stateSettingsOf };
