import type { Provider } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';

/** The validation stage's rules: the one slice of configuration it reads (currencies, limits, blocked payers). */
export type ValidationRules = AppConfig['validation'];

/** Injection token of the ValidationRules. */
export const VALIDATION_SETTINGS = Symbol('VALIDATION_SETTINGS');

/** Provides the slice from the app's configuration. */
export const validationRulesProvider: Provider = { provide: VALIDATION_SETTINGS, inject: [AppConfig], useFactory: (config: AppConfig): ValidationRules => config.validation };
