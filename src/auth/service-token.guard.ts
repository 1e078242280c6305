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
    const caller = this.config.auth.enabled ? this.authenticate(request) : ANONYMOUS;
    request.caller = caller;
    this.logger.assign({ service: caller.service });

    const required = this.reflector.getAllAndOverride<Scope>(REQUIRED_SCOPE, targets) ?? 'admin';
    if (!hasScope(caller.scopes, required)) {
      throw new ProblemError(403, 'forbidden', `This token lacks the "${required}" scope needed here.`);
    }
    return true;
  }

  private authenticate(request: AuthenticatedRequest): Caller {
    const token = presentedToken(request.headers);
    if (!token) {
      throw new ProblemError(
        401,
        'unauthorized',
        'Send a service token as "Authorization: Bearer <token>".',
        {
          headers: { 'www-authenticate': 'Bearer' },
        },
      );
    }
    const result = this.verifier.check(token);
    if (result.outcome !== 'valid') {
      this.logger.warn({ reason: result.outcome, ip: request.ip }, 'service token refused');
      const detail =
        result.outcome === 'malformed'
          ? `The service token is malformed: expected ${this.config.auth.tokenPrefix} followed by 33 characters with a valid checksum.`
          : 'The service token is not recognised.';
      throw new ProblemError(401, 'unauthorized', detail, {
        headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
      });
    }
    const { service, scopes } = result.credentials;
    return { service, scopes, isAdmin: scopes.has('admin') };
  }
}
