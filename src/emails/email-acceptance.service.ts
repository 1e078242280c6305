import { Injectable } from '@nestjs/common';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Caller } from '../auth/caller';
import { AppConfig } from '../config/app-config';
import { assertDataWithin, sizedJson } from '../common/data-limit';
import { uuidv7 } from '../common/ids';
import type { FieldError } from '../common/problem-error';
import { GroupsService } from '../groups/groups.service';
import type { GroupMember } from '../groups/group.store';
import { AppLogger } from '../logging/app-logger';
import { StepTimer } from '../logging/step-timer';
import type { RenderedTemplate } from '../templates/template-registry';
import { prefixed, refusedWhole } from './acceptance-problems';
import type { EmailAcceptedDto } from './dto/email-response.dto';
import type { SendEmailDto } from './dto/send-email.dto';
import type { BatchAcceptedDto, GroupAcceptedDto, SendGroupDto } from './dto/send-many.dto';
import { composeGroupMessage, groupDataMerger } from './email-composer';
import { EmailIntake } from './email-intake';
import { EmailPreparer, type PreparedEmail } from './email-preparer';
import type { SharedGroupData } from './email-record';
import { toAcceptedDto } from './email-responses';

/** How many per-recipient problems a refused group lists (the count says how many there were in all). */
const MAX_LISTED_PROBLEMS = 100;
/** Group recipients rendered between two yields to the event loop, so that other requests are not held up. */
const RENDER_CHUNK = 500;

/**
 * Accepting emails: one (REST or SMTP ingress), a batch, or a group. Every email of a request is checked and
 * rendered before anything is written, then all are stored through the one intake, or none.
 */
@Injectable()
export class EmailAcceptanceService {
  constructor(
    private readonly config: AppConfig,
    private readonly preparer: EmailPreparer,
    private readonly intake: EmailIntake,
    private readonly groups: GroupsService,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('emails');
  }

  async accept(caller: Caller, dto: SendEmailDto, requestId: string): Promise<EmailAcceptedDto> {
    // LOG_LEVELS=emails=debug: one "accept timing" line per email shows where its time went.
    const timer = StepTimer.start(this.logger);
    assertDataWithin(this.config.email.maxDataBytes, [['data', dto.data]]);
    const email = this.preparer.prepare(caller, dto, requestId, Date.now());
    timer.lap(dto.template ? 'render' : 'prepare');
    const { record } = email;
    await this.intake.store(caller, [email]);
    timer.lap('store');
    timer.done('accept timing', { emailId: record.id });
    this.logger.info(
      { emailId: record.id, priority: record.priority, status: record.status },
      'email accepted',
    );
    return toAcceptedDto(record);
  }

  /** Accepts every email of a batch, or none: all are validated and rendered before anything is written. */
  async acceptBatch(caller: Caller, dtos: SendEmailDto[], requestId: string): Promise<BatchAcceptedDto> {
    assertDataWithin(
      this.config.email.maxDataBytes,
      dtos.map((dto, index) => [`emails[${index}].data`, dto.data]),
    );
    const now = Date.now();
    const problems: FieldError[] = [];
    const emails: PreparedEmail[] = [];
    dtos.forEach((dto, index) => {
      try {
        emails.push(this.preparer.prepare(caller, dto, requestId, now));
      } catch (error) {
        problems.push(...prefixed(error, `emails[${index}]`));
      }
    });
    if (problems.length > 0) throw refusedWhole('batch', problems, problems.length);
    await this.intake.store(caller, emails);
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
    const schedule = this.preparer.schedule(dto.sendAt, now);
    const groupId = uuidv7(now);
    const shared: SharedGroupData | undefined =
      dto.data && Object.keys(dto.data).length > 0
        ? { groupId, data: sizedJson(dto.data), members: recipients.length }
        : undefined;
    const options = { template: dto.template, groupId, priority: dto.priority };
    const problems: FieldError[] = [];
    const emails: PreparedEmail[] = [];
    const merge = groupDataMerger(dto.data);
    for (const [index, recipient] of recipients.entries()) {
      if (index > 0 && index % RENDER_CHUNK === 0) await nextTurn();
      const data = merge(recipient);
      let rendered: RenderedTemplate;
      try {
        rendered = this.preparer.render(dto.template, data, `${field}[${index}].data`);
      } catch (error) {
        problems.push(...prefixed(error, ''));
        continue;
      }
      const subject = dto.subject ?? rendered.subject;
      const message = composeGroupMessage(recipient, this.config.email.from, subject, {
        template: dto.template,
        ...(shared ? { data: recipient.data ?? {}, shared: { groupId, member: index } } : { data }),
      });
      const email = this.preparer.build(caller, message, schedule, requestId, now, options);
      emails.push(shared ? { ...email, shared } : email);
    }
    if (problems.length > 0)
      throw refusedWhole('group', problems.slice(0, MAX_LISTED_PROBLEMS), problems.length);
    await this.intake.store(caller, emails);
    this.logger.info({ groupId, count: emails.length, template: dto.template }, 'group accepted');
    return { groupId, ids: emails.map((e) => e.record.id), count: emails.length };
  }
}
