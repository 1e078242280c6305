import {
  type CallHandler,
  type ExecutionContext,
  HttpStatus,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import type { FastifyReply } from 'fastify';
import { catchError, from, mergeMap, type Observable, of, throwError } from 'rxjs';
import type { AuthenticatedRequest } from '../auth/caller';
import { ProblemError } from '../common/problem-error';
import { EmailEvents } from '../events/email-events';
import { IdempotencyStore, type StoredResponse } from './idempotency.store';
import { hashIdempotencyKey, isValidIdempotencyKey, requestFingerprint } from './request-fingerprint';

/** Response headers worth replaying with a stored response. */
const REPLAYED_HEADERS = ['location'];

/**
 * `Idempotency-Key` on any POST: the first request with a key runs and its successful response is kept; the
 * same service, key and body get that response again with `Idempotent-Replayed: true`, and nothing runs twice;
 * the same key with another body is a 409. A failed first request keeps nothing, so it may be retried.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    private readonly store: IdempotencyStore,
    private readonly reflector: Reflector,
    private readonly events: EmailEvents,
  ) {}

  /** A replay is an audit event of each email the first response made. */
  private announceReplay(service: string, requestId: string, body: unknown): void {
    const answer = (body ?? {}) as { id?: unknown; ids?: unknown };
    const ids = Array.isArray(answer.ids) ? answer.ids : typeof answer.id === 'string' ? [answer.id] : [];
    for (const emailId of ids) {
      if (typeof emailId === 'string') this.events.emit({ event: 'replayed', emailId, service, requestId });
    }
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const request = http.getRequest<AuthenticatedRequest>();
    const key = request.headers['idempotency-key'];
    if (request.method !== 'POST' || key === undefined || !request.caller) return next.handle();
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
    const reply = http.getResponse<FastifyReply>();
    const service = request.caller.service;
    const keyHash = hashIdempotencyKey(key);
    const fingerprint = requestFingerprint(request.method, request.url, request.body);
    const status = this.reflector.get<number>(HTTP_CODE_METADATA, context.getHandler()) ?? HttpStatus.CREATED;

    return from(this.store.reserve(service, keyHash, fingerprint)).pipe(
      mergeMap((reservation) => {
        switch (reservation.kind) {
          case 'replay':
            this.announceReplay(service, request.id, reservation.response.body);
            return of(replay(reply, reservation.response));
          case 'mismatch':
            return throwError(
              () =>
                new ProblemError(
                  409,
                  'conflict',
                  'This Idempotency-Key was already used with another request.',
                ),
            );
          case 'in-progress':
            return throwError(
              () =>
                new ProblemError(
                  409,
                  'conflict',
                  'A request with this Idempotency-Key is still running; retry shortly.',
                  {
                    headers: { 'retry-after': '1' },
                  },
                ),
            );
          case 'new':
            return next.handle().pipe(
              mergeMap(async (body: unknown) => {
                const headers = Object.fromEntries(
                  REPLAYED_HEADERS.flatMap((name) => {
                    const value = reply.getHeader(name);
                    return typeof value === 'string' ? [[name, value]] : [];
                  }),
                );
                await this.store.complete(service, keyHash, fingerprint, { status, headers, body });
                return body;
              }),
              catchError((error: unknown) =>
                from(this.store.release(service, keyHash).catch(() => undefined)).pipe(
                  mergeMap(() => throwError(() => error)),
                ),
              ),
            );
        }
      }),
    );
  }
}

function replay(reply: FastifyReply, response: StoredResponse): unknown {
  void reply.headers({ ...response.headers, 'idempotent-replayed': 'true' }).status(response.status);
  return response.body;
}
