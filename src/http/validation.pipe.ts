import { ValidationPipe, type ArgumentMetadata, type ValidationError } from '@nestjs/common';
import { ApiError } from './api-error.js';

const RESERVED_KEYS = ['__proto__', 'constructor', 'prototype'];

/** class-validator constraint names that mean something more specific than "invalid". */
const CODE_BY_CONSTRAINT: Record<string, string> = {
  isDefined: 'parameter_missing',
  whitelistValidation: 'parameter_unknown',
};

/**
 * The global ValidationPipe: unknown fields are refused, DTOs are real instances, and every failure
 * becomes one 400 naming each bad field in the API's error shape.
 */
export class ApiValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
      transform: true,
      stopAtFirstError: true,
      validationError: { target: false, value: false },
      exceptionFactory: (errors) => toApiError(errors),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && metadata.metatype && metadata.metatype !== Object) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw ApiError.invalidRequest('body_not_object', 'The request body must be a JSON object.');
      }
      // class-transformer silently drops these keys; refuse them like any other unknown field.
      const reserved = RESERVED_KEYS.find((key) => Object.hasOwn(value, key));
      if (reserved) {
        throw ApiError.invalidRequest('parameter_unknown', `${reserved} is not a known field`, reserved);
      }
    }
    return super.transform(value, metadata);
  }
}

function toApiError(errors: ValidationError[]): ApiError {
  const fields = flatten(errors).map(({ param, constraint, message }) => ({
    param,
    code: CODE_BY_CONSTRAINT[constraint] ?? 'parameter_invalid',
    message: constraint === 'whitelistValidation' ? `${param} is not a known field` : message,
  }));
  const [first] = fields;
  const error = ApiError.invalidRequest(
    first?.code ?? 'parameter_invalid',
    fields.map((f) => f.message).join('; ') || 'The request is invalid.',
    first?.param,
  );
  error.body.errors = fields;
  return error;
}

function flatten(errors: ValidationError[], parent = ''): { param: string; constraint: string; message: string }[] {
  return errors.flatMap((error) => {
    const param = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.entries(error.constraints ?? {}).map(([constraint, message]) => ({ param, constraint, message }));
    return [...own, ...flatten(error.children ?? [], param)];
  });
}
