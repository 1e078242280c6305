import type { Caller } from '../auth/caller';
import type { AppConfig } from '../config/app-config';
import { ProblemError } from '../common/problem-error';
import type { ProviderRegistry } from '../providers/provider-registry';
import {
  TemplateNotFoundError,
  TemplateRenderError,
  type TemplateRegistry,
} from '../templates/template-registry';
import type { SendEmailDto } from './dto/send-email.dto';
import { EmailPreparer } from './email-preparer';

const DAY_MS = 86_400_000;
const NOW = Date.UTC(2026, 0, 1);
const caller: Caller = { service: 'billing', isAdmin: false, scopes: new Set() };
const config = {
  email: { from: { email: 'noreply@example.com' }, maxScheduleDays: 30 },
  delivery: { maxAttempts: 5 },
} as unknown as AppConfig;

/** Templates that render `{{name}}` from the data, and know only `welcome`. */
const templates = {
  render(template: string, data: Record<string, unknown>) {
    if (template !== 'welcome') throw new TemplateNotFoundError(template);
    if (typeof data['name'] !== 'string') throw new TemplateRenderError(template, 'name is missing', 'name');
    return { subject: `Hello ${data['name']}`, html: `<p>Hello ${data['name']}</p>` };
  },
} as unknown as TemplateRegistry;

const providers = {
  get: (name: string) => (name === 'smtp' ? {} : undefined),
  names: () => ['smtp'],
} as unknown as ProviderRegistry;

const preparer = new EmailPreparer(config, templates, providers);
const email = (dto: Partial<SendEmailDto>) =>
  ({ to: [{ email: 'ada@example.com' }], subject: 'Hi', text: 'Hello', ...dto }) as SendEmailDto;

/** The problem `act` throws: status and field errors. */
function problemOf(act: () => unknown) {
  try {
    act();
  } catch (error) {
    if (error instanceof ProblemError) return { status: error.getStatus(), errors: error.errors };
    throw error;
  }
  throw new Error('no problem was thrown');
}

describe('EmailPreparer', () => {
  it('builds a queued record of the caller, due now, with the configured attempts', () => {
    const { record, message, delayMs } = preparer.prepare(caller, email({}), 'req-1', NOW);
    expect(record).toMatchObject({
      status: 'queued',
      priority: 'medium',
      service: 'billing',
      requestId: 'req-1',
      createdAt: NOW,
      attempts: 0,
      maxAttempts: 5,
      to: ['ada@example.com'],
      subject: 'Hi',
    });
    expect(record).not.toHaveProperty('sendAt');
    expect(message.from).toEqual({ email: 'noreply@example.com' });
    expect(delayMs).toBe(0);
  });

  it('schedules an email asked for later, its job waiting until then', () => {
    const sendAt = new Date(NOW + 3_600_000).toISOString();
    const { record, delayMs } = preparer.prepare(caller, email({ sendAt }), 'req-1', NOW);
    expect(record).toMatchObject({ status: 'scheduled', sendAt: NOW + 3_600_000 });
    expect(delayMs).toBe(3_600_000);
  });

  it('refuses a sendAt too far ahead, naming the field', () => {
    const sendAt = new Date(NOW + 31 * DAY_MS).toISOString();
    expect(problemOf(() => preparer.prepare(caller, email({ sendAt }), 'r', NOW))).toEqual({
      status: 400,
      errors: [{ field: 'sendAt', message: 'must be at most 30 days ahead' }],
    });
  });

  it('pins a configured provider, and refuses one that is not configured here', () => {
    expect(preparer.prepare(caller, email({ provider: 'smtp' }), 'r', NOW).record.pinnedProvider).toBe(
      'smtp',
    );
    expect(problemOf(() => preparer.prepare(caller, email({ provider: 'ses' }), 'r', NOW))).toEqual({
      status: 400,
      errors: [{ field: 'provider', message: '"ses" is not configured here (smtp)' }],
    });
  });

  it('renders a template into the message, keeping its name on the record', () => {
    const dto = email({ subject: undefined, text: undefined, template: 'welcome', data: { name: 'Ada' } });
    const { record, message } = preparer.prepare(caller, dto, 'r', NOW);
    expect(record).toMatchObject({ template: 'welcome', subject: 'Hello Ada' });
    expect(message.html).toBe('<p>Hello Ada</p>');
  });

  it('answers 422 naming the variable, or the template, when a template does not render', () => {
    const missing = email({ template: 'welcome', data: {} });
    expect(problemOf(() => preparer.prepare(caller, missing, 'r', NOW))).toEqual({
      status: 422,
      errors: [{ field: 'data.name', message: 'is required by the template' }],
    });
    expect(problemOf(() => preparer.render('welcome', {}, 'recipients[3].data'))).toMatchObject({
      errors: [{ field: 'recipients[3].data.name' }],
    });
    expect(problemOf(() => preparer.render('gone', {}))).toMatchObject({
      status: 422,
      errors: [{ field: 'template' }],
    });
  });
});
