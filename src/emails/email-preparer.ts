import { Injectable } from '@nestjs/common';
import type { Caller } from '../auth/caller';
import { AppConfig } from '../config/app-config';
import { uuidv7 } from '../common/ids';
import { ProviderRegistry } from '../providers/provider-registry';
import type { Priority } from '../queue/queue-names';
import { toTemplateProblem } from '../templates/template-problems';
import { TemplateRegistry, type RenderedTemplate } from '../templates/template-registry';
import { validationProblem } from './acceptance-problems';
import type { SendEmailDto } from './dto/send-email.dto';
import { composeMessage, resolveSchedule, type Schedule } from './email-composer';
import type { EmailRecord, NewEmail } from './email-record';

/** An email ready to be stored: its record, its message, and how long its job waits. */
export interface PreparedEmail extends NewEmail {
  delayMs: number;
}

/** When an email is due, once its `sendAt` is known to be valid. */
export type DueSchedule = Extract<Schedule, { delayMs: number }>;

/** What a new record takes from the request beyond its message. */
export interface EmailOptions {
  priority?: Priority;
  provider?: string;
  template?: string;
  groupId?: string;
}

/**
 * Turns a request into emails ready to store: checks what the DTO cannot (the schedule, the provider),
 * renders the template and builds the record. No I/O: a refused request has written nothing.
 */
@Injectable()
export class EmailPreparer {
  constructor(
    private readonly config: AppConfig,
    private readonly templates: TemplateRegistry,
    private readonly providers: ProviderRegistry,
  ) {}

  /** One email of a single send or a batch; throws the problem of the first thing wrong with it. */
  prepare(caller: Caller, dto: SendEmailDto, requestId: string, now: number): PreparedEmail {
    const schedule = this.schedule(dto.sendAt, now);
    const rendered = dto.template ? this.render(dto.template, dto.data ?? {}) : undefined;
    const message = composeMessage(dto, this.config.email.from, rendered);
    return this.build(caller, message, schedule, requestId, now, dto);
  }

  /** When emails asked for at `sendAt` are due; a 400 naming `sendAt` when that cannot be. */
  schedule(sendAt: string | undefined, now: number): DueSchedule {
    const schedule = resolveSchedule(sendAt, now, this.config.email.maxScheduleDays);
    if ('problem' in schedule) throw validationProblem('sendAt', schedule.problem);
    return schedule;
  }

  /** Renders a template; a 422 naming `template`, or the variable under `dataField`, when it does not render. */
  render(template: string, data: Record<string, unknown>, dataField = 'data'): RenderedTemplate {
    try {
      return this.templates.render(template, data);
    } catch (error) {
      throw toTemplateProblem(error, dataField);
    }
  }

  /** The email of a composed message; a 400 naming `provider` when the pinned one is not configured here. */
  build(
    caller: Caller,
    message: NewEmail['message'],
    schedule: DueSchedule,
    requestId: string,
    now: number,
    options: EmailOptions,
  ): PreparedEmail {
    if (options.provider && !this.providers.get(options.provider)) {
      throw validationProblem(
        'provider',
        `"${options.provider}" is not configured here (${this.providers.names().join(', ')})`,
      );
    }
    const record: EmailRecord = {
      id: uuidv7(now),
      status: schedule.sendAt ? 'scheduled' : 'queued',
      priority: options.priority ?? 'medium',
      service: caller.service,
      requestId,
      createdAt: now,
      ...(schedule.sendAt ? { sendAt: schedule.sendAt } : {}),
      attempts: 0,
      maxAttempts: this.config.delivery.maxAttempts,
      ...(options.provider ? { pinnedProvider: options.provider } : {}),
      ...(options.template ? { template: options.template } : {}),
      ...(options.groupId ? { groupId: options.groupId } : {}),
      to: message.to.map((a) => a.email),
      subject: message.subject,
      tags: message.tags,
      metadata: message.metadata,
    };
    return { record, message, delayMs: schedule.delayMs };
  }
}
