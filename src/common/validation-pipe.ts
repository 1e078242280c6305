import { ValidationPipe } from '@nestjs/common';
import { ProblemError } from './problem-error';
import { flattenValidationErrors } from './validation-errors';

/** Validation of every request body: unknown fields are refused, errors come back per field. */
export const validationPipe = new ValidationPipe({
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
  // One message per field: the first rule it breaks, which is the one to fix first.
  stopAtFirstError: true,
  validationError: { target: false, value: true },
  exceptionFactory: (errors) => {
    return new ProblemError(400, 'validation-error', 'The request has invalid fields; see errors.', {
      errors: flattenValidationErrors(errors),
    });
  },
});
