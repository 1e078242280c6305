import { Injectable } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import { AppConfig, type ServiceCredentials } from '../config/app-config';
import { tokenDigest } from '../config/service-tokens';
import { isWellFormedToken } from '../common/token-format';

export type TokenCheck =
  { outcome: 'valid'; credentials: ServiceCredentials } | { outcome: 'malformed' } | { outcome: 'unknown' };

/**
 * Checks a presented token against the configured ones. The format and checksum are checked first (public
 * rules, no secret involved); then the token's SHA-256 is compared with every configured digest using
 * timingSafeEqual and no early exit, so neither the content nor the length of any token leaks through timing.
 */
@Injectable()
export class ServiceTokenVerifier {
  private readonly entries: { digest: Buffer; credentials: ServiceCredentials }[];

  constructor(private readonly config: AppConfig) {
    this.entries = config.auth.services.flatMap((credentials) =>
      credentials.tokenDigests.map((digest) => ({ digest, credentials })),
    );
  }

  check(token: string): TokenCheck {
    if (!isWellFormedToken(token, this.config.auth.tokenPrefix)) return { outcome: 'malformed' };
    const presented = tokenDigest(token);
    let match: ServiceCredentials | undefined;
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.digest, presented)) match = entry.credentials;
    }
    return match ? { outcome: 'valid', credentials: match } : { outcome: 'unknown' };
  }
}
