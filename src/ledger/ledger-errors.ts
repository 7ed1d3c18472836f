import { AppError } from '../errors/app-error.js';

export enum LedgerErrorCode {
  AccountNotFound = 'account_not_found',
  DepositIdReused = 'deposit_id_reused',
}

export class LedgerError extends AppError<LedgerErrorCode> {}
