import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { AuthenticatedRequest } from '../auth/caller';
import { PreparedResponse } from '../common/prepared-response';
import { ProblemError } from '../common/problem-error';
import { EmailEvents } from '../events/email-events';
import { SEALED_RESPONSE } from './api-idempotency-key';
import { IdempotencyStore } from './idempotency.store';
import { hashIdempotencyKey, isValidIdempotencyKey, requestFingerprint } from './request-fingerprint';

/** A POST that took its Idempotency-Key: its response is kept (or the key freed) when it is sent. */
export interface HeldIdempotencyKey {
  service: string;
  keyHash: string;
  fingerprint: string;
  /** The route's response holds a secret: keep it encrypted. */
  seal: boolean;
}

export type IdempotentRequest = AuthenticatedRequest & { idempotencyKey?: HeldIdempotencyKey };

/**
 * `Idempotency-Key` on any POST, before the handler runs: the first request with a key takes it and runs
 * (IdempotencyResponses keeps its successful response); the same service, key and body get that response
 * again with `Idempotent-Replayed: true`, and nothing runs twice; the same key with another body is a 409.
 * A guard and a response hook rather than an interceptor: any interceptor puts every request of the API
 * through Nest's RxJS pipeline (5 % of an accept's CPU), though only requests with a key need this.
 * Runs after ServiceTokenGuard, which names the service the key belongs to.
 */
@Injectable()
export class IdempotencyGuard implements CanActivate {
  constructor(
    private readonly store: IdempotencyStore,
    private readonly events: EmailEvents,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<IdempotentRequest>();
    const key = request.headers['idempotency-key'];
    if (request.method !== 'POST' || key === undefined || !request.caller) return true;
    if (typeof key !== 'string' || !isValidIdempotencyKey(key)) {
      throw new ProblemError(
        400,
        'validation-error',
        'Idempotency-Key must be 1-255 printable ASCII characters.',
        {
          errors: [{ field: 'Idempotency-Key', message: 'must be 1-255 printable ASCII characters' }],
        },
      );
    }
    const service = request.caller.service;
    const keyHash = hashIdempotencyKey(key);
    const fingerprint = requestFingerprint(request.method, request.url, request.body);
    const reservation = await this.store.reserve(service, keyHash, fingerprint);
    switch (reservation.kind) {
      case 'new':
        request.idempotencyKey = {
          service,
          keyHash,
          fingerprint,
          seal: this.reflector.get<boolean>(SEALED_RESPONSE, context.getHandler()) === true,
        };
        return true;
      case 'replay': {
        const { status, headers, body } = reservation.response;
        this.announceReplay(service, request.id, body);
        throw new PreparedResponse(status, { ...headers, 'idempotent-replayed': 'true' }, body);
      }
      case 'mismatch':
        throw new ProblemError(
          409,
          'conflict',
          'This Idempotency-Key was already used with another request.',
        );
      case 'in-progress':
        throw new ProblemError(
          409,
          'conflict',
          'A request with this Idempotency-Key is still running; retry shortly.',
          { headers: { 'retry-after': '1' } },
        );
    }
  }

  /** A replay is an audit event of each email the first response made. */
  private announceReplay(service: string, requestId: string, body: unknown): void {
    const answer = (body ?? {}) as { id?: unknown; ids?: unknown };
    const ids = Array.isArray(answer.ids) ? answer.ids : typeof answer.id === 'string' ? [answer.id] : [];
    for (const emailId of ids) {
      if (typeof emailId === 'string') this.events.emit({ event: 'replayed', emailId, service, requestId });
    }
  }
}
