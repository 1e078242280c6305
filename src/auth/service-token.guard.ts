import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply } from 'fastify';
import { SCOPES, hasScope, type Scope } from '../common/scopes';
import { AppConfig } from '../config/app-config';
import { ProblemError } from '../common/problem-error';
import { AppLogger } from '../logging/app-logger';
import { AuthFailureLimiter } from '../rate-limit/auth-failure-limiter';
import { RequestLimiter } from '../rate-limit/request-limiter';
import type { AuthenticatedRequest, Caller } from './caller';
import { IS_PUBLIC, NOT_RATE_LIMITED, REQUIRED_SCOPE } from './auth.decorators';
import { ServiceTokenVerifier } from './service-token.verifier';

/** Why a request failed authentication: each is a 401, and counts against its client address. */
type AuthFailure = 'missing' | 'malformed' | 'unknown';

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
 * Runs on every route except those marked @Public(): authenticates the service token (401; 429 instead once
 * the client address is past AUTH_FAILURE_LIMIT), applies the service's API rate limit (429), and checks the
 * route's scope (403). The token is checked in memory first, so the limits cost at most one Redis call
 * whatever the outcome (docs/RATE-LIMITS.md), and a valid token is never refused for its address's failures.
 * A route without @RequireScope needs `admin`, so a forgotten decorator fails closed.
 */
@Injectable()
export class ServiceTokenGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: ServiceTokenVerifier,
    private readonly limiter: RequestLimiter,
    private readonly failures: AuthFailureLimiter,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('auth');
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const http = context.switchToHttp();
    const request = http.getRequest<AuthenticatedRequest>();
    const isLimited = !this.reflector.getAllAndOverride<boolean>(NOT_RATE_LIMITED, targets);
    let caller: Caller;
    let failure: AuthFailure = 'missing';
    try {
      caller = authenticate(presentedToken(request.headers), this.verifier, this.config.auth, (reason) => {
        failure = reason;
      });
    } catch (refusal) {
      const address = request.ip ?? 'unknown';
      if (isLimited) await this.failures.countFailure(address, 'api', failure);
      if (failure !== 'missing') this.logger.warn({ reason: failure, ip: address }, 'service token refused');
      throw refusal;
    }
    this.logger.assign({ service: caller.service });
    if (isLimited) await this.limiter.admit(caller.service, http.getResponse<FastifyReply>());
    assertScope(caller, this.reflector.getAllAndOverride<Scope>(REQUIRED_SCOPE, targets) ?? 'admin');
    // Set only once every check passed: what follows (idempotency, the per-service call count) relies on it.
    request.caller = caller;
    return true;
  }
}
