import type { Priority } from '../queue/queue-names';
import type { OutboundMessage } from '../providers/outbound-email';
import type { SuppressedRecipient } from '../suppressions/suppression.store';
import type { SizedJson } from '../common/data-limit';
import type { EmailStatus } from '../common/email-status';

/** What the service keeps about an email for status queries; the message itself is kept apart until sent. */
export interface EmailRecord {
  id: string;
  status: EmailStatus;
  priority: Priority;
  service: string;
  requestId?: string;
  createdAt: number;
  sendAt?: number;
  attempts: number;
  maxAttempts: number;
  /** The provider the caller pinned, if any. */
  pinnedProvider?: string;
  /** The provider of the last attempt. */
  provider?: string;
  providerMessageId?: string;
  lastError?: string;
  sentAt?: number;
  template?: string;
  to: string[];
  subject: string;
  tags: string[];
  metadata: Record<string, string>;
  /** The group notification it is part of. */
  groupId?: string;
  cancelledAt?: number;
  /** Recipients left out at delivery because they are suppressed. */
  suppressed?: SuppressedRecipient[];
}

/** A group notification's shared template data, stored once for every email of the group. */
export interface SharedGroupData {
  groupId: string;
  data: SizedJson;
  /** How many emails of the group refer to it (each by its place, `OutboundMessage.render.shared.member`). */
  members: number;
}

export interface NewEmail {
  record: EmailRecord;
  message: OutboundMessage;
  /** A group email's shared data: one object for all the group's emails, written once with the first. */
  shared?: SharedGroupData;
}
