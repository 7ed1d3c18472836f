import { describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ERROR_CATALOG, ERROR_ENUMS } from './error-catalog.js';
import { AppError } from './errors/app-error.js';
import { errorResponse } from './errors/error-response.js';
import { ApiExceptionFilter } from './http/api-exception.filter.js';

const TYPE_OF_STATUS: Record<number, string[]> = {
  400: ['invalid_request_error'],
  401: ['authentication_error'],
  403: ['permission_error'],
  404: ['not_found_error'],
  408: ['invalid_request_error'],
  409: ['conflict_error', 'idempotency_error'],
  413: ['invalid_request_error'],
  415: ['invalid_request_error'],
  422: ['idempotency_error', 'invalid_request_error'],
  429: ['rate_limit_error'],
  431: ['invalid_request_error'],
  500: ['api_error'],
  503: ['service_unavailable_error'],
};

const SRC = resolve(import.meta.dirname);
/** Every source file of src/ (specs excepted). */
function sources(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') ? [join(dir, e.name)] : [],
  );
}

const enumCodes = Object.entries(ERROR_ENUMS).flatMap(([name, values]) => Object.values(values).map((code) => ({ name, code: code as string })));

describe('the error catalog', () => {
  it('has an entry for every code of every module enum, and nothing else', () => {
    expect(enumCodes.filter(({ code }) => !(code in ERROR_CATALOG)).map(({ name, code }) => `${name}.${code}`)).toEqual([]);
    expect(Object.keys(ERROR_CATALOG).sort()).toEqual(enumCodes.map(({ code }) => code).sort());
  });

  it('covers every error enum of src/, so a new module enum cannot be left out of it', () => {
    const declared = sources().flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/export enum (\w+ErrorCode)\b/g)].map((m) => m[1]));
    expect(declared.length).toBeGreaterThanOrEqual(7);
    expect(declared.filter((name) => !(name in ERROR_ENUMS))).toEqual([]);
    const raisedWith = sources().flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/extends AppError<(\w+)>/g)].map((m) => m[1]));
    expect(raisedWith.filter((name) => !(name in ERROR_ENUMS))).toEqual([]);
  });

  it('answers a code missing from the catalog as the API’s 500, not as a crash of the filter', () => {
    Logger.overrideLogger(false);
    const response = new ApiExceptionFilter(ERROR_CATALOG).toResponse(new AppError('no_such_code'));
    expect(response).toMatchObject({ status: 500, body: { error: { type: 'api_error', code: 'internal_error' } } });
  });

  it('gives no two modules the same code', () => {
    const codes = enumCodes.map(({ code }) => code);
    expect(codes.filter((code, i) => codes.indexOf(code) !== i)).toEqual([]);
  });

  it('gives each code an error status, a type that fits it and a public message', () => {
    const misfits = Object.entries(ERROR_CATALOG).filter(
      ([, spec]) => !(TYPE_OF_STATUS[spec.status] ?? []).includes(spec.type) || spec.message.trim().length < 10 || !spec.message.endsWith('.'),
    );
    expect(misfits).toEqual([]);
  });

  it('writes the body from the catalog, the specific message and the detail', () => {
    const error = new AppError('order_already_paid', 'Order o1 already has a completed payment p1.', { param: 'orderId', extra: { paymentId: 'p1' } });
    expect(errorResponse(error, ERROR_CATALOG)).toEqual({
      status: 409,
      headers: {},
      body: { error: { type: 'conflict_error', code: 'order_already_paid', message: 'Order o1 already has a completed payment p1.', param: 'orderId', paymentId: 'p1' } },
    });
    expect(errorResponse(new AppError('broker_unavailable', undefined, { headers: { 'Retry-After': '1' } }), ERROR_CATALOG)).toMatchObject({
      status: 503,
      headers: { 'Retry-After': '1' },
      body: { error: { message: ERROR_CATALOG.broker_unavailable.message } },
    });
    expect(() => errorResponse(new AppError('no_such_code'), ERROR_CATALOG)).toThrow(/not in the error catalog/);
  });

  it('is the only place codes are spelled: no source file writes a `code:` string of its own', () => {
    const freeStrings = sources().filter((file) => /\bcode: '[a-z_]+'/.test(readFileSync(file, 'utf8')) || /new AppError\('/.test(readFileSync(file, 'utf8')));
    // Ledger transfer codes (PAYMENT, DEPOSIT) are data, not error codes; they are upper case.
    expect(freeStrings.map((f) => f.slice(SRC.length + 1))).toEqual([]);
  });
});
