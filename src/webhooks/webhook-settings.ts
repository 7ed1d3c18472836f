import type { Provider } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { rolesOf } from '../pipeline/stages.js';

/** What the webhooks module reads of the configuration: WEBHOOK_*, and whether this instance runs the delivery workers. */
export type WebhookSettings = AppConfig['webhooks'] & { workers: boolean };

/** Injection token of the WebhookSettings. */
export const WEBHOOK_SETTINGS = Symbol('WEBHOOK_SETTINGS');

export function webhookSettingsOf(config: AppConfig): WebhookSettings {
  return { ...config.webhooks, workers: rolesOf(config.appRoles).stages.has('webhooks') };
}

export const webhookSettingsProvider: Provider = { provide: WEBHOOK_SETTINGS, inject: [AppConfig], useFactory: webhookSettingsOf };
