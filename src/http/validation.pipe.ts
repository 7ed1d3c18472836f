import { ValidationPipe, type ArgumentMetadata, type ValidationError } from '@nestjs/common';
import { HttpErrorCode, RequestError } from './http-errors.js';

const RESERVED_KEYS = ['__proto__', 'constructor', 'prototype'];

/** class-validator constraint names that mean something more specific than "invalid". */
const CODE_BY_CONSTRAINT: Record<string, HttpErrorCode> = {
  isDefined: HttpErrorCode.ParameterMissing,
  whitelistValidation: HttpErrorCode.ParameterUnknown,
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
      exceptionFactory: (errors) => toRequestError(errors),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && metadata.metatype && metadata.metatype !== Object) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new RequestError(HttpErrorCode.BodyNotObject);
      }
      // class-transformer silently drops these keys; refuse them like any other unknown field.
      const reserved = RESERVED_KEYS.find((key) => Object.hasOwn(value, key));
      if (reserved) {
        throw new RequestError(HttpErrorCode.ParameterUnknown, `${reserved} is not a known field`, { param: reserved });
      }
    }
    return super.transform(value, metadata);
  }
}

function toRequestError(errors: ValidationError[]): RequestError {
  const fields = flatten(errors).map(({ param, constraint, message }) => ({
    param,
    code: CODE_BY_CONSTRAINT[constraint] ?? HttpErrorCode.ParameterInvalid,
    message: constraint === 'whitelistValidation' ? `${param} is not a known field` : message,
  }));
  const [first] = fields;
  return new RequestError(first?.code ?? HttpErrorCode.ParameterInvalid, fields.map((f) => f.message).join('; ') || 'The request is invalid.', {
    param: first?.param,
    errors: fields,
  });
}

function flatten(errors: ValidationError[], parent = ''): { param: string; constraint: string; message: string }[] {
  return errors.flatMap((error) => {
    const param = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.entries(error.constraints ?? {}).map(([constraint, message]) => ({ param, constraint, message }));
    return [...own, ...flatten(error.children ?? [], param)];
  });
}
