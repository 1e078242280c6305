import { ProblemError } from '../common/problem-error';
import { TemplateNotFoundError, TemplateRenderError } from './template-registry';

/**
 * A template failure as the API reports it: 422 with the field to fix (`template`, or `data.<variable>`).
 * Other errors pass through unchanged.
 */
export function toTemplateProblem(error: unknown, dataField = 'data'): unknown {
  if (error instanceof TemplateNotFoundError) {
    return new ProblemError(422, 'template-error', error.message, {
      errors: [{ field: 'template', message: 'no template has this name (see GET /api/v1/templates)' }],
    });
  }
  if (error instanceof TemplateRenderError) {
    return new ProblemError(422, 'template-error', error.message, {
      errors: [
        error.variable
          ? { field: `${dataField}.${error.variable}`, message: 'is required by the template' }
          : { field: dataField, message: 'does not render with this template' },
      ],
    });
  }
  return error;
}
