import type { EmailAcceptedDto, EmailStatusDto } from './dto/email-response.dto';
import type { EmailRecord } from './email-record';

const isoOrNull = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/** The answer to an accepted email. */
export function toAcceptedDto(record: EmailRecord): EmailAcceptedDto {
  return {
    id: record.id,
    status: record.status,
    priority: record.priority,
    sendAt: isoOrNull(record.sendAt),
  };
}

/**
 * An email's status as the API shows it: every optional field present (null when unknown), times as ISO
 * dates, and the provider of the last attempt or else the one the caller pinned.
 */
export function toStatusDto(record: EmailRecord): EmailStatusDto {
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
