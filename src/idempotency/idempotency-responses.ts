import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { AppLogger } from '../logging/app-logger';
import type { IdempotentRequest } from './idempotency.guard';
import { IdempotencyStore } from './idempotency.store';

/** Response headers worth replaying with a stored response. */
const REPLAYED_HEADERS = ['location'];

/**
 * The other half of IdempotencyGuard: as the response of a request holding a key is sent, a success is kept
 * for replays (before the client sees it, so a retry that follows finds it), and a failure frees the key, so
 * that the request may be retried. Other responses pass untouched.
 */
@Injectable()
export class IdempotencyResponses implements OnModuleInit {
  constructor(
    private readonly adapter: HttpAdapterHost,
    private readonly store: IdempotencyStore,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('idempotency');
  }

  onModuleInit(): void {
    const fastify = this.adapter.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onSend', async (request: IdempotentRequest, reply, payload) => {
      if (request.idempotencyKey) await this.settle(request.idempotencyKey, reply, payload);
      return payload;
    });
  }

  private async settle(
    { service, keyHash, fingerprint, seal }: NonNullable<IdempotentRequest['idempotencyKey']>,
    reply: FastifyReply,
    payload: unknown,
  ): Promise<void> {
    try {
      if (reply.statusCode >= 400 || typeof payload !== 'string') {
        await this.store.release(service, keyHash);
        return;
      }
      const headers = Object.fromEntries(
        REPLAYED_HEADERS.flatMap((name) => {
          const value = reply.getHeader(name);
          return typeof value === 'string' ? [[name, value]] : [];
        }),
      );
      const body: unknown = JSON.parse(payload);
      await this.store.complete(
        service,
        keyHash,
        fingerprint,
        { status: reply.statusCode, headers, body },
        { seal },
      );
    } catch (error) {
      // The request itself succeeded: its answer goes out; only a retry with this key is not protected.
      this.logger.warn(
        { err: { message: error instanceof Error ? error.message : String(error) } },
        'idempotency key could not be settled',
      );
      await this.store.release(service, keyHash).catch(() => undefined);
    }
  }
}
