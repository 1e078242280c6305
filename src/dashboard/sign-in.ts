import fastifyBasicAuth from '@fastify/basic-auth';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ProblemError } from '../common/problem-error';
import type { AuthFailureLimiter } from '../rate-limit/auth-failure-limiter';
import { type BasicCredentials, credentialsCheck, WWW_AUTHENTICATE } from './basic-auth';

/** What the sign-in needs of the limiter of failed authentications (AuthFailureLimiter). */
export type SignInLimiter = Pick<AuthFailureLimiter, 'admitSignIn' | 'countFailure'>;

/** What the log is told of a failed sign-in: the user presented (never the password), or that it was malformed. */
export interface FailedSignIn {
  user: string | undefined;
  reason: 'wrong user or password' | 'malformed Authorization header';
  ip: string;
  path: string;
  requestId: string;
}

export interface SignInOptions {
  credentials: BasicCredentials;
  failures: SignInLimiter;
  /** Routes that take no sign-in (the probes, and `/metrics` with its own token), by their route path. */
  openRoutes: ReadonlySet<string>;
  onFailure(failure: FailedSignIn): void;
}

/** A presented user and password that are not the configured ones. */
class WrongCredentials extends Error {
  constructor(readonly user: string) {
    super('wrong user or password');
  }
}

const signInProblem = () =>
  new ProblemError(401, 'unauthorized', 'Sign in with the dashboard user and password.', {
    headers: { 'www-authenticate': WWW_AUTHENTICATE },
  });

/**
 * Basic auth (@fastify/basic-auth, which reads the header) on every route of `fastify` but the open ones.
 * Failed sign-ins count against the client address (AUTH_FAILURE_LIMIT, a count of the dashboard's own):
 * within the limit a failure is reported (onFailure) and gets a 401 with the challenge; once the limit is
 * reached every sign-in from that address gets a 429 with Retry-After until the window ends, before its
 * password is looked at, so guessing gains nothing. The browser's first request, which carries no
 * credentials, guesses nothing and is not counted. A refusal is thrown, for the port's problem+json filter.
 */
export async function requireSignIn(fastify: FastifyInstance, options: SignInOptions): Promise<void> {
  const matches = credentialsCheck(options.credentials);
  await fastify.register(fastifyBasicAuth, {
    // RFC 7235's optional whitespace is let through, as before the plugin: `Basic  x`, a trailing space.
    strictCredentials: false,
    validate: (user, password, _request, _reply, done) =>
      done(matches(user, password) ? undefined : new WrongCredentials(user)),
    // No challenge from the plugin: a refusal past the limit is a 429, which carries none.
  });
  const signIn = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const route = request.routeOptions.url;
    if (route !== undefined && options.openRoutes.has(route)) return;
    if (!request.headers.authorization) throw signInProblem();
    await options.failures.admitSignIn(request.ip);
    const refusal = await new Promise<Error | undefined>((resolve) =>
      fastify.basicAuth.call(fastify, request, reply, resolve),
    );
    if (!refusal) return;
    const isWrong = refusal instanceof WrongCredentials;
    await options.failures.countFailure(request.ip, 'dashboard', isWrong ? 'wrong' : 'malformed');
    options.onFailure({
      user: isWrong ? refusal.user.slice(0, 64) : undefined,
      reason: isWrong ? 'wrong user or password' : 'malformed Authorization header',
      ip: request.ip,
      path: request.url.split('?')[0]!.slice(0, 200),
      requestId: request.id,
    });
    throw signInProblem();
  };
  fastify.addHook('onRequest', async (request, reply) => {
    try {
      await signIn(request, reply);
    } catch (refusal) {
      // Answered by the application's error handler (Nest's, with the problem+json filter) on every route,
      // bull-board's too, whose plugin installs an error handler of its own for its routes.
      fastify.errorHandler(refusal as Error, request, reply);
      return reply;
    }
  });
}
