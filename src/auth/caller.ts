import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Scope } from '../common/scopes';

/** Who is calling: the authenticated service and what it may do. */
export interface Caller {
  service: string;
  scopes: ReadonlySet<Scope>;
  isAdmin: boolean;
}

export type AuthenticatedRequest = FastifyRequest & { caller?: Caller };

/** The authenticated caller of this request (set by ServiceTokenGuard). */
export const CurrentCaller = createParamDecorator((_data: unknown, context: ExecutionContext): Caller => {
  const caller = context.switchToHttp().getRequest<AuthenticatedRequest>().caller;
  if (!caller) throw new Error('CurrentCaller used on a route without ServiceTokenGuard');
  return caller;
});
