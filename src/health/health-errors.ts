import { AppError } from '../errors/app-error.js';

export enum HealthErrorCode {
  HealthComponentNotFound = 'health_component_not_found',
  MetricNotFound = 'metric_not_found',
}

export class HealthError extends AppError<HealthErrorCode> {}
