import { createBullBoard } from '@bull-board/api';
import { BullAdapter } from '@bull-board/api/bullAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bull';
import type { FastifyInstance } from 'fastify';

type BoardOptions = Parameters<typeof createBullBoard>[0];

/** bull-board's page links a Google Fonts style sheet; the dashboard must work offline and call out to no one. */
const EXTERNAL_STYLESHEET = /<link\b[^>]*\bhref="https:\/\/fonts\.(?:googleapis|gstatic)\.com[^"]*"[^>]*>/gi;

/** bull-board's HTML without links to other hosts; the system fonts stand in for its web font. */
export function withoutExternalStylesheets(page: string): string {
  return page.replace(EXTERNAL_STYLESHEET, '');
}

/**
 * A queue as bull-board lists it: `label` goes before its name, to tell apart the partitions' queues of one
 * priority, which share the name (`p3 emails-high`).
 */
export interface BoardQueue {
  queue: Queue;
  label: string;
}

/**
 * bull-board (the job-level view of the email queues and the webhook deliveries) under `prefix`, on the dashboard's fastify
 * instance, so it sits behind the same basic auth. Its views and static files come from @bull-board/ui
 * (through @fastify/view and @fastify/static, registered in its own encapsulated scope).
 */
export async function registerBullBoard(
  server: FastifyInstance,
  queues: readonly BoardQueue[],
  prefix: string,
): Promise<void> {
  const adapter = new FastifyAdapter();
  adapter.setBasePath(prefix);
  createBullBoard({
    // Read-only: a job here is only a pointer to an email record whose status our own dispatcher and
    // dead-letter store keep in step with it (claims, attempts, `dead`, the dead-letter list). Retrying,
    // promoting, cleaning or removing jobs from bull-board would change the job behind their back, leaving an
    // email `dead` but queued, or queued with no job. Dead letters are retried from the overview's button,
    // which goes through DeadLettersService like the API does.
    queues: queues.map(({ queue, label }) => new BullAdapter(queue, { readOnlyMode: true, prefix: label })),
    // @bull-board/fastify 9.10.1 pins its own copy of @bull-board/api (9.10.1) beside ours (9.10.2): one
    // interface declared twice, which TypeScript cannot match (private members). At run time they agree.
    serverAdapter: adapter as unknown as BoardOptions['serverAdapter'],
    options: {
      uiConfig: {
        boardTitle: 'FreeFace queues',
        hideDocsLink: true,
        miscLinks: [{ text: 'Overview', url: '../' }],
      },
    },
  });
  await server.register(
    async (scope) => {
      scope.addHook('onSend', async (_request, reply, payload) => {
        const type = reply.getHeader('content-type');
        return typeof payload === 'string' && typeof type === 'string' && type.startsWith('text/html')
          ? withoutExternalStylesheets(payload)
          : payload;
      });
      await scope.register(adapter.registerPlugin());
    },
    { prefix },
  );
}
