import { ValidateBy, type ValidationArguments, type ValidationOptions } from 'class-validator';
import { jsonValueProblem, storableTextProblem } from './storable';

function firstTextProblem(value: unknown): string | undefined {
  const items: unknown[] = Array.isArray(value) ? value : [value];
  for (const item of items) {
    const problem = typeof item === 'string' ? storableTextProblem(item) : undefined;
    if (problem) return problem;
  }
  return undefined;
}

/** A string (or, with `each`, strings) PostgreSQL stores unchanged: no NUL, no lone surrogate. Non-strings pass (pair with IsString). */
export function IsStorableText(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isStorableText',
      validator: {
        validate: (value: unknown) => typeof value !== 'string' || storableTextProblem(value) === undefined,
        defaultMessage: (args?: ValidationArguments) => `${args?.property ?? 'value'} ${firstTextProblem(args?.value) ?? 'must be valid text'}`,
      },
    },
    options,
  );
}

/** A JSON value jsonb stores unchanged: keys and strings storable, at most MAX_JSON_DEPTH levels of nesting. */
export function IsStorableJson(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isStorableJson',
      validator: {
        validate: (value: unknown) => jsonValueProblem(value) === undefined,
        defaultMessage: (args?: ValidationArguments) => {
          const problem = jsonValueProblem(args?.value);
          return `${args?.property ?? 'value'}${problem?.path ?? ''} ${problem?.message ?? 'must be JSON'}`;
        },
      },
    },
    options,
  );
}
