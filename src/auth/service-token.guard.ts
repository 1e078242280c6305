import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { SCOPES, hasScope, type Scope } from './scopes';
import { AppConfig } from '../config/app-config';
import { ProblemError } from '../common/problem-error';
import { AppLogger } from '../logging/app-logger';
import type { AuthenticatedRequest, Caller } from './caller';
import { IS_PUBLIC, REQUIRED_SCOPE } from './auth.decorators';
import { ServiceTokenVerifier } from './service-token.verifier';

const ANONYMOUS: Caller = { service: 'anonymous', scopes: new Set(SCOPES), isAdmin: true };

/** The token a request presents: `Authorization: Bearer <token>`, else `X-Service-Token`. */
export function presentedToken(headers: AuthenticatedRequest['headers']): string | undefined {
  const authorization = headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return match?.[1] ?? authorization.trim();
  }
  const header = headers['x-service-token'];
  return typeof header === 'string' ? header.trim() : undefined;
}

/**
 * The caller a presented token proves (401 without one, or for a malformed or unknown one); when
 * authentication is off (development), the service `anonymous` with every scope. `onRefused` hears why a
 * presented token was refused, for the log.
 */
export function authenticate(
  token: string | undefined,
  verifier: ServiceTokenVerifier,
  auth: AppConfig['auth'],
  onRefused: (reason: 'malformed' | 'unknown') => void = () => undefined,
): Caller {
  if (!auth.enabled) return ANONYMOUS;
  if (!token) {
    throw new ProblemError(401, 'unauthorized', 'Send a service token as "Authorization: Bearer <token>".', {
      headers: { 'www-authenticate': 'Bearer' },
    });
  }
  const result = verifier.check(token);
  if (result.outcome !== 'valid') {
    onRefused(result.outcome);
    const detail =
      result.outcome === 'malformed'
        ? `The service token is malformed: expected ${auth.tokenPrefix} followed by 33 characters with a valid checksum.`
        : 'The service token is not recognised.';
    throw new ProblemError(401, 'unauthorized', detail, {
      headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
    });
  }
  const { service, scopes } = result.credentials;
  return { service, scopes, isAdmin: scopes.has('admin') };
}

/** Refuses (403) a caller without `required` (admin covers every scope). */
export function assertScope(caller: Caller, required: Scope): void {
  if (!hasScope(caller.scopes, required)) {
    throw new ProblemError(403, 'forbidden', `This token lacks the "${required}" scope needed here.`);
  }
}

/**
 * Runs on every route except those marked @Public(): authenticates the service token (401) and checks the
 * route's scope (403). A route without @RequireScope needs `admin`, so a forgotten decorator fails closed.
 */
@Injectable()
export class ServiceTokenGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: ServiceTokenVerifier,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('auth');
  }

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const caller = authenticate(presentedToken(request.headers), this.verifier, this.config.auth, (reason) =>
      this.logger.warn({ reason, ip: request.ip }, 'service token refused'),
    );
    request.caller = caller;
    this.logger.assign({ service: caller.service });
    assertScope(caller, this.reflector.getAllAndOverride<Scope>(REQUIRED_SCOPE, targets) ?? 'admin');
    return true;
  }
}
