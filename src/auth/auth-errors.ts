import { AppError } from '../errors/app-error.js';

export enum AuthErrorCode {
  ApiKeyMissing = 'api_key_missing',
  ApiKeyInvalid = 'api_key_invalid',
  AdminKeyRequired = 'admin_key_required',
  MerchantMismatch = 'merchant_mismatch',
  RateLimited = 'rate_limited',
  SessionInvalid = 'session_invalid',
  CsrfTokenInvalid = 'csrf_token_invalid',
  SessionUnavailable = 'session_unavailable',
}

export class AuthError extends AppError<AuthErrorCode> {}

/** 429 with Retry-After, for the hook and the intake's own count alike. */
export function rateLimited(retryAfterSeconds: number, headers: Record<string, string> = {}): AuthError {
  return new AuthError(AuthErrorCode.RateLimited, `Too many requests; retry after ${retryAfterSeconds} s.`, {
    headers: { 'Retry-After': String(retryAfterSeconds), ...headers },
  });
}
