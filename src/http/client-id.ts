import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { IsDefined, IsOptional, IsString, Matches } from 'class-validator';

/** Ids that clients choose (orders, users, merchants, deposits): short and safe in keys, logs and URLs. */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;

export const clientIdRule = (field: string): string =>
  `${field} must be 1 to 64 characters of letters, digits, ".", "_", ":" or "-"`;

/** Validation and OpenAPI of one client-chosen id field of a request body. */
export function ClientId(field: string, example: string, { optional = false } = {}): PropertyDecorator {
  return applyDecorators(
    ApiProperty({ example, pattern: CLIENT_ID_PATTERN.source, maxLength: 64, required: !optional }),
    optional ? IsOptional() : IsDefined({ message: `${field} is required` }),
    IsString({ message: clientIdRule(field) }),
    Matches(CLIENT_ID_PATTERN, { message: clientIdRule(field) }),
  );
}
