import { Injectable } from '@nestjs/common';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Caller } from '../auth/caller';
import { AppConfig } from '../config/app-config';
import { decodeCursor, nextCursorOf } from '../common/cursor';
import { assertDataWithin, sizedJson } from '../common/data-limit';
import { uuidv7 } from '../common/ids';
import { notFound, ProblemError, type FieldError } from '../common/problem-error';
import { EmailEvents } from '../events/email-events';
import { GroupsService } from '../groups/groups.service';
import type { GroupMember } from '../groups/group.repository';
import { AppLogger } from '../logging/app-logger';
import { StepTimer } from '../logging/step-timer';
import { ProviderRegistry } from '../providers/provider-registry';
import { EmailQueue } from '../queue/email-queue';
import type { Priority } from '../queue/queue-names';
import { DailyQuotaStore } from '../rate-limit/daily-quota.store';
import { toTemplateProblem } from '../templates/template-problems';
import { TemplateRegistry, type RenderedTemplate } from '../templates/template-registry';
import type { EmailAcceptedDto, EmailListDto, EmailStatusDto } from './dto/email-response.dto';
import type { BatchAcceptedDto, GroupAcceptedDto, SendGroupDto } from './dto/send-many.dto';
import type { SendEmailDto } from './dto/send-email.dto';
import { storedBytes } from './stored-bytes';
import {
  composeGroupMessage,
  composeMessage,
  groupDataMerger,
  resolveSchedule,
  type Schedule,
} from './email-composer';
import type { EmailRecord, NewEmail, SharedGroupData } from './email-record';
import type { EmailStatus } from './email-status';
import { EmailRepository } from './email.repository';

const isoOrNull = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
/** How many per-recipient problems a refused group lists (the count says how many there were in all). */
const MAX_LISTED_PROBLEMS = 100;
const DEFAULT_PAGE = 20;
/** Group recipients rendered between two yields to the event loop, so that other requests are not held up. */
const RENDER_CHUNK = 500;

interface Prepared extends NewEmail {
  delayMs: number;
}

/**
 * Accepting emails (validate, render, record, enqueue: one, a batch, or a group), cancelling them, and
 * reporting them to the service that sent them.
 */
@Injectable()
export class EmailsService {
  constructor(
    private readonly config: AppConfig,
    private readonly repository: EmailRepository,
    private readonly queue: EmailQueue,
    private readonly templates: TemplateRegistry,
    private readonly providers: ProviderRegistry,
    private readonly groups: GroupsService,
    private readonly events: EmailEvents,
    private readonly quota: DailyQuotaStore,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('emails');
  }

  async accept(caller: Caller, dto: SendEmailDto, requestId: string): Promise<EmailAcceptedDto> {
    // LOG_LEVELS=emails=debug: one "accept timing" line per email shows where its time went.
    const timer = StepTimer.start(this.logger);
    assertDataWithin(this.config.email.maxDataBytes, [['data', dto.data]]);
    const email = this.prepare(caller, dto, requestId, Date.now());
    timer.lap(dto.template ? 'render' : 'prepare');
    const { record } = email;
    await this.store(caller, [email]);
    timer.lap('store');
    this.announce(email);
    timer.done('accept timing', { emailId: record.id });
    this.logger.info(
      { emailId: record.id, priority: record.priority, status: record.status },
      'email accepted',
    );
    return accepted(record);
  }

  /** Accepts every email of a batch, or none: all are validated and rendered before anything is written. */
  async acceptBatch(caller: Caller, dtos: SendEmailDto[], requestId: string): Promise<BatchAcceptedDto> {
    assertDataWithin(
      this.config.email.maxDataBytes,
      dtos.map((dto, index) => [`emails[${index}].data`, dto.data]),
    );
    const now = Date.now();
    const problems: FieldError[] = [];
    const emails: Prepared[] = [];
    dtos.forEach((dto, index) => {
      try {
        emails.push(this.prepare(caller, dto, requestId, now));
      } catch (error) {
        problems.push(...prefixed(error, `emails[${index}]`));
      }
    });
    if (problems.length > 0) throw refusedWhole('batch', problems, problems.length);
    await this.store(caller, emails);
    emails.forEach((email) => this.announce(email));
    this.logger.info({ count: emails.length }, 'batch accepted');
    return { ids: emails.map((e) => e.record.id) };
  }

  /**
   * One template to many recipients: shared `data` merged with each recipient's own (theirs wins), one
   * personalised email each, all sharing a `groupId`. A recipient whose data does not render refuses the
   * whole group, naming each such recipient, so nobody is silently left out. The shared data is stored once
   * for the group and merged again at delivery: each email keeps only its recipient's own data.
   */
  async acceptGroup(caller: Caller, dto: SendGroupDto, requestId: string): Promise<GroupAcceptedDto> {
    const now = Date.now();
    const recipients: GroupMember[] = dto.recipients ?? (await this.groups.membersOf(dto.group!));
    const field = dto.recipients ? 'recipients' : `group(${dto.group})`;
    assertDataWithin(this.config.email.maxDataBytes, [
      ['data', dto.data],
      ...recipients.map((recipient, index) => [`${field}[${index}].data`, recipient.data] as const),
    ]);
    const schedule = this.schedule(dto.sendAt, now);
    const groupId = uuidv7(now);
    const shared: SharedGroupData | undefined =
      dto.data && Object.keys(dto.data).length > 0
        ? { groupId, data: sizedJson(dto.data), members: recipients.length }
        : undefined;
    const problems: FieldError[] = [];
    const emails: Prepared[] = [];
    const merge = groupDataMerger(dto.data);
    for (const [index, recipient] of recipients.entries()) {
      if (index > 0 && index % RENDER_CHUNK === 0) await nextTurn();
      const data = merge(recipient);
      let rendered: RenderedTemplate;
      try {
        rendered = this.templates.render(dto.template, data);
      } catch (error) {
        problems.push(...prefixed(toTemplateProblem(error, `${field}[${index}].data`), ''));
        continue;
      }
      const subject = dto.subject ?? rendered.subject;
      const message = composeGroupMessage(recipient, this.config.email.from, subject, {
        template: dto.template,
        ...(shared ? { data: recipient.data ?? {}, shared: { groupId, member: index } } : { data }),
      });
      const email = this.newEmail(caller, message, schedule, requestId, now, { ...dto, groupId });
      emails.push(shared ? { ...email, shared } : email);
    }
    if (problems.length > 0)
      throw refusedWhole('group', problems.slice(0, MAX_LISTED_PROBLEMS), problems.length);
    await this.store(caller, emails);
    emails.forEach((email) => this.announce(email));
    this.logger.info({ groupId, count: emails.length, template: dto.template }, 'group accepted');
    return { groupId, ids: emails.map((e) => e.record.id), count: emails.length };
  }

  async get(caller: Caller, id: string): Promise<EmailStatusDto> {
    return toStatusDto(await this.visibleRecord(caller, id));
  }

  /**
   * Cancels an email that has not started going out. The status change is atomic against a worker taking it,
   * so an email is never both cancelled and sent; its job is then removed when it still waits.
   */
  async cancel(caller: Caller, id: string): Promise<{ id: string; status: 'cancelled' }> {
    const record = await this.visibleRecord(caller, id);
    const previous = await this.repository.cancel(id, Date.now());
    if (previous === undefined) throw notFound(`Email ${id}`);
    if (!['scheduled', 'queued', 'retrying'].includes(previous)) {
      throw new ProblemError(
        409,
        'conflict',
        `Email ${id} is ${previous}: only a scheduled, queued or retrying email can be cancelled.`,
      );
    }
    await this.queue.remove(id, record.priority);
    this.events.emit({
      event: 'cancelled',
      emailId: id,
      service: record.service,
      detail: { previousStatus: previous },
    });
    this.logger.info({ emailId: id, previous }, 'email cancelled');
    return { id, status: 'cancelled' };
  }

  /** The caller's emails, newest first (an admin may name another service, or `*` for all). */
  async list(
    caller: Caller,
    query: { status?: EmailStatus; limit?: number; cursor?: string; service?: string },
  ): Promise<EmailListDto> {
    if (query.service && query.service !== caller.service && !caller.isAdmin) {
      throw new ProblemError(403, 'forbidden', "Listing another service's emails needs the admin scope.");
    }
    const service = query.service === '*' ? undefined : (query.service ?? caller.service);
    const limit = query.limit ?? DEFAULT_PAGE;
    const page = await this.repository.page(
      {
        limit,
        ...(service ? { service } : {}),
        ...(query.status ? { status: query.status } : {}),
      },
      decodeCursor(query.cursor),
    );
    return { items: page.items.map(toStatusDto), nextCursor: nextCursorOf(page.next) };
  }

  /** Tells the audit trail and the metrics about a newly accepted email (and its schedule). */
  private announce({ record }: Prepared): void {
    const base = {
      emailId: record.id,
      service: record.service,
      requestId: record.requestId,
      priority: record.priority,
      at: record.createdAt,
    };
    this.events.emit({
      ...base,
      event: 'accepted',
      detail: {
        priority: record.priority,
        recipients: record.to.length,
        ...(record.template ? { template: record.template } : {}),
        ...(record.groupId ? { groupId: record.groupId } : {}),
        ...(record.pinnedProvider ? { provider: record.pinnedProvider } : {}),
      },
    });
    if (record.sendAt)
      this.events.emit({
        ...base,
        event: 'scheduled',
        detail: { sendAt: new Date(record.sendAt).toISOString() },
      });
  }

  /** The record, if the caller may see it: its own, or any for an admin (others get 404, not 403). */
  private async visibleRecord(caller: Caller, id: string): Promise<EmailRecord> {
    const record = await this.repository.find(id);
    if (!record || (record.service !== caller.service && !caller.isAdmin)) throw notFound(`Email ${id}`);
    return record;
  }

  /**
   * The one way emails are stored, whether one (REST or SMTP ingress), a batch or a group. Takes them from the
   * caller's daily quota (429 for all of them if they do not fit), then writes the records and queues the
   * jobs, the jobs issued right behind the records on the one shared connection (so Redis has every record
   * before its job, and neither waits for the other's answer: one round trip for a single email). If either
   * fails, everything written (records, messages, index entries) is removed and the quota given back: all or
   * none, so that no record is left `queued` without a job. Should that clean-up fail as well (Redis gone
   * meanwhile), the records left are unfinished emails, which the reconciler queues later.
   */
  private async store(caller: Caller, emails: Prepared[]): Promise<void> {
    const reservation = await this.quota.take(caller.service, emails.length, storedBytes(emails));
    const written = this.repository.createMany(emails);
    const queued = this.queue.enqueueMany(
      emails.map(({ record, delayMs }) => ({ id: record.id, priority: record.priority, delayMs })),
    );
    const results = await Promise.allSettled([written, queued]);
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (!failure) return;
    const rollback = await Promise.allSettled([
      this.repository.discard(emails.map((e) => e.record)),
      reservation?.release(),
    ]);
    const rollbackFailure = rollback.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (rollbackFailure)
      this.logger.error(
        { emails: emails.length, err: rollbackFailure.reason as unknown },
        'emails not accepted, and not wholly taken back: the reconciler will queue what is left',
      );
    throw failure.reason;
  }

  /** Validates what the DTO cannot (schedule, provider), renders the template, and builds the record. */
  private prepare(caller: Caller, dto: SendEmailDto, requestId: string, now: number): Prepared {
    const schedule = this.schedule(dto.sendAt, now);
    const message = composeMessage(dto, this.config.email.from, dto.template ? this.render(dto) : undefined);
    return this.newEmail(caller, message, schedule, requestId, now, dto);
  }

  private newEmail(
    caller: Caller,
    message: NewEmail['message'],
    schedule: Extract<Schedule, { delayMs: number }>,
    requestId: string,
    now: number,
    options: { priority?: Priority; provider?: string; template?: string; groupId?: string },
  ): Prepared {
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

  private schedule(sendAt: string | undefined, now: number): Extract<Schedule, { delayMs: number }> {
    const schedule = resolveSchedule(sendAt, now, this.config.email.maxScheduleDays);
    if ('problem' in schedule) throw validationProblem('sendAt', schedule.problem);
    return schedule;
  }

  private render(dto: SendEmailDto): RenderedTemplate {
    try {
      return this.templates.render(dto.template!, dto.data ?? {});
    } catch (error) {
      throw toTemplateProblem(error);
    }
  }
}

function accepted(record: EmailRecord): EmailAcceptedDto {
  return {
    id: record.id,
    status: record.status,
    priority: record.priority,
    sendAt: isoOrNull(record.sendAt),
  };
}

function toStatusDto(record: EmailRecord): EmailStatusDto {
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
    groupId: record.groupId ?? null,
    tags: record.tags,
    metadata: record.metadata,
    suppressed: record.suppressed ?? [],
  };
}

function validationProblem(field: string, message: string): ProblemError {
  return new ProblemError(400, 'validation-error', `${field} ${message}`, { errors: [{ field, message }] });
}

/** The field errors of a problem thrown for one item, with the item's path in front (`emails[3].to[0]`). */
function prefixed(error: unknown, prefix: string): FieldError[] {
  if (!(error instanceof ProblemError)) throw error;
  const errors = error.errors ?? [{ field: '', message: error.detail }];
  return errors.map(({ field, message }) => ({
    field: prefix && field ? `${prefix}.${field}` : prefix || field,
    message,
  }));
}

/** One problem for a refused batch or group: 422 when a template failed, else 400. */
function refusedWhole(what: 'batch' | 'group', problems: FieldError[], total: number): ProblemError {
  const templateFailed = problems.some((p) => /\.data(\.|$)|\.template$/.test(p.field));
  const status = templateFailed ? 422 : 400;
  return new ProblemError(
    status,
    status === 422 ? 'template-error' : 'validation-error',
    `Nothing was accepted: ${total} problem${total === 1 ? '' : 's'} in the ${what}; see errors.`,
    { errors: problems },
  );
}
