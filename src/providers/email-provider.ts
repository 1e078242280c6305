import type { ProviderName } from '../config/env.schema';
import type { OutboundEmail } from './outbound-email';

export interface SendResult {
  /** The provider's own id for the message (SMTP: the Message-ID it accepted). */
  providerMessageId: string;
}

/**
 * What delivery needs from a provider. Implementations map every failure to TransientDeliveryError or
 * PermanentDeliveryError; delivery chooses retry or dead letter from that alone. Only `providers/` imports SDKs.
 */
export interface EmailProvider {
  readonly name: ProviderName;
  send(email: OutboundEmail): Promise<SendResult>;
  /** Checks that the provider can be reached with its credentials (used at worker start). */
  verify(): Promise<void>;
  /** Drains pools and closes connections (SIGTERM). */
  close(): Promise<void>;
}

export const EMAIL_PROVIDERS = Symbol('EMAIL_PROVIDERS');
