import { AppError } from '../errors/app-error.js';

export enum DeadLetterErrorCode {
  DeadLetterNotFound = 'dead_letter_not_found',
}

export class DeadLetterError extends AppError<DeadLetterErrorCode> {}
