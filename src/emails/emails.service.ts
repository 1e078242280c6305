import { Injectable } from '@nestjs/common';
import type { Caller } from '../auth/caller';
import { AppConfig } from '../config/app-config';
import { uuidv7 } from '../common/ids';
import { notFound, ProblemError } from '../common/problem-error';
import { AppLogger } from '../logging/app-logger';
import { ProviderRegistry } from '../providers/provider-registry';
import { EmailQueue } from '../queue/email-queue';
import { toTemplateProblem } from '../templates/template-problems';
import { TemplateRegistry, type RenderedTemplate } from '../templates/template-registry';
import type { SendEmailDto } from './dto/send-email.dto';
import type { EmailAcceptedDto, EmailStatusDto } from './dto/email-response.dto';
import { composeMessage, resolveSchedule } from './email-composer';
import type { EmailRecord } from './email-record';
import { EmailRepository } from './email.repository';

const isoOrNull = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/** Accepting emails (validate, render, record, enqueue) and reporting their status to their own service. */
@Injectable()
export class EmailsService {
  constructor(
    private readonly config: AppConfig,
    private readonly repository: EmailRepository,
    private readonly queue: EmailQueue,
    private readonly templates: TemplateRegistry,
    private readonly providers: ProviderRegistry,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('emails');
  }

  async accept(caller: Caller, dto: SendEmailDto, requestId: string): Promise<EmailAcceptedDto> {
    const now = Date.now();
    const schedule = resolveSchedule(dto.sendAt, now, this.config.email.maxScheduleDays);
    if ('problem' in schedule) throw validationProblem('sendAt', schedule.problem);
    if (dto.provider && !this.providers.get(dto.provider)) {
      throw validationProblem(
        'provider',
        `"${dto.provider}" is not configured here (${this.providers.names().join(', ')})`,
      );
    }
    const message = composeMessage(dto, this.config.email.from, dto.template ? this.render(dto) : undefined);
    const status = schedule.sendAt ? 'scheduled' : 'queued';
    const priority = dto.priority ?? 'medium';
    const record: EmailRecord = {
      id: uuidv7(now),
      status,
      priority,
      service: caller.service,
      requestId,
      createdAt: now,
      ...(schedule.sendAt ? { sendAt: schedule.sendAt } : {}),
      attempts: 0,
      maxAttempts: this.config.delivery.maxAttempts,
      ...(dto.provider ? { pinnedProvider: dto.provider } : {}),
      ...(dto.template ? { template: dto.template } : {}),
      to: message.to.map((a) => a.email),
      subject: message.subject,
      tags: message.tags,
      metadata: message.metadata,
    };
    // Issued back to back on the one shared connection, so the record reaches Redis before its job.
    await Promise.all([
      this.repository.create({ record, message }),
      this.queue.enqueue(record.id, priority, schedule.delayMs, record.maxAttempts),
    ]);
    this.logger.info({ emailId: record.id, priority, status, template: record.template }, 'email accepted');
    return { id: record.id, status, priority, sendAt: isoOrNull(record.sendAt) };
  }

  async get(caller: Caller, id: string): Promise<EmailStatusDto> {
    const record = await this.repository.find(id);
    // Another service's email answers exactly like a missing one: its existence is not disclosed.
    if (!record || (record.service !== caller.service && !caller.isAdmin)) throw notFound(`Email ${id}`);
    return {
      id: record.id,
      status: record.status,
      priority: record.priority,
      provider: record.provider ?? record.pinnedProvider ?? null,
      attempts: record.attempts,
      maxAttempts: record.maxAttempts,
      createdAt: new Date(record.createdAt).toISOString(),
      sendAt: isoOrNull(record.sendAt),
      sentAt: isoOrNull(record.sentAt),
      providerMessageId: record.providerMessageId ?? null,
      lastError: record.lastError ?? null,
      service: record.service,
      to: record.to,
      subject: record.subject,
      template: record.template ?? null,
      tags: record.tags,
      metadata: record.metadata,
    };
  }

  private render(dto: SendEmailDto): RenderedTemplate {
    try {
      return this.templates.render(dto.template!, dto.data ?? {});
    } catch (error) {
      throw toTemplateProblem(error);
    }
  }
}

function validationProblem(field: string, message: string): ProblemError {
  return new ProblemError(400, 'validation-error', `${field} ${message}`, { errors: [{ field, message }] });
}
