import type { Provider } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';

/** The fraud stage's rules: the one slice of configuration it reads (FRAUD_* variables). */
export type FraudRules = AppConfig['fraud'];

/** Injection token of the FraudRules. */
export const FRAUD_SETTINGS = Symbol('FRAUD_SETTINGS');

/** Provides the slice from the app's configuration. */
export const fraudRulesProvider: Provider = { provide: FRAUD_SETTINGS, inject: [AppConfig], useFactory: (config: AppConfig): FraudRules => config.fraud };
