import Fastify, { type FastifyInstance } from 'fastify';
import { ProblemError } from '../common/problem-error';
import { addressRefused } from '../rate-limit/rate-limit-answers';
import { WWW_AUTHENTICATE } from './basic-auth';
import { type FailedSignIn, requireSignIn, type SignInLimiter } from './sign-in';

const CREDENTIALS = { user: 'ops', password: 'pa:ss wörd' };
const basic = (text: string) => `Basic ${Buffer.from(text, 'utf8').toString('base64')}`;
const RIGHT = basic('ops:pa:ss wörd');

/** A limiter of our own interface that records what it is asked, and refuses once told to. */
class RecordingLimiter implements SignInLimiter {
  admitted: string[] = [];
  counted: string[] = [];
  refuseSignIns = false;
  refuseFailures = false;

  admitSignIn(address: string): Promise<void> {
    this.admitted.push(address);
    return this.refuseSignIns ? Promise.reject(addressRefused(30_000)) : Promise.resolve();
  }

  countFailure(_address: string, via: string, attempt: string): Promise<void> {
    this.counted.push(`${via}:${attempt}`);
    return this.refuseFailures ? Promise.reject(addressRefused(30_000)) : Promise.resolve();
  }
}

describe('requireSignIn (the dashboard port’s basic auth)', () => {
  let server: FastifyInstance;
  let limiter: RecordingLimiter;
  let failures: FailedSignIn[];

  beforeEach(async () => {
    limiter = new RecordingLimiter();
    failures = [];
    server = Fastify();
    // As the port's problem+json filter answers: the problem's status and headers.
    server.setErrorHandler<ProblemError>((problem, _request, reply) => {
      void reply.status(problem.getStatus()).headers(problem.headers).send({ detail: problem.detail });
    });
    await requireSignIn(server, {
      credentials: CREDENTIALS,
      failures: limiter,
      openRoutes: new Set(['/health']),
      onFailure: (failure) => failures.push(failure),
    });
    server.get('/health', () => ({ status: 'ok' }));
    server.get('/api/overview', () => ({ figures: true }));
  });

  afterEach(() => server.close());

  const get = (authorization?: string, url = '/api/overview') =>
    server.inject({ method: 'GET', url, headers: authorization === undefined ? {} : { authorization } });

  it('lets the configured user in, whatever the case of the scheme and the whitespace around it', async () => {
    for (const header of [RIGHT, RIGHT.replace('Basic', 'bAsIc'), RIGHT.replace(' ', '   '), `${RIGHT}  `]) {
      const response = await get(header);
      expect({ header, status: response.statusCode }).toEqual({ header, status: 200 });
    }
    expect(limiter.counted).toEqual([]);
    expect(failures).toEqual([]);
  });

  it('asks the browser to sign in, without counting it, when no credentials come', async () => {
    for (const header of [undefined, '']) {
      const response = await get(header);
      expect(response.statusCode).toBe(401);
      expect(response.headers['www-authenticate']).toBe(WWW_AUTHENTICATE);
    }
    expect(limiter.admitted).toEqual([]);
    expect(limiter.counted).toEqual([]);
  });

  it('refuses and counts a wrong user or password, naming the user and never the password', async () => {
    for (const header of [basic('ops:pa:ss'), basic('admin:pa:ss wörd'), basic(':')]) {
      const response = await get(header);
      expect(response.statusCode).toBe(401);
      expect(response.headers['www-authenticate']).toBe(WWW_AUTHENTICATE);
    }
    expect(limiter.counted).toEqual(['dashboard:wrong', 'dashboard:wrong', 'dashboard:wrong']);
    expect(failures.map((f) => [f.user, f.reason])).toEqual([
      ['ops', 'wrong user or password'],
      ['admin', 'wrong user or password'],
      ['', 'wrong user or password'],
    ]);
    expect(JSON.stringify(failures)).not.toContain('pa:ss');
  });

  it('refuses and counts a malformed header: another scheme, bad base64, no colon', async () => {
    for (const header of ['Bearer st_dev_x', 'Basic !!!', basic('no-colon'), 'Basic']) {
      const response = await get(header);
      expect({ header, status: response.statusCode }).toEqual({ header, status: 401 });
      expect(response.headers['www-authenticate']).toBe(WWW_AUTHENTICATE);
    }
    expect(limiter.counted).toEqual(Array(4).fill('dashboard:malformed'));
    expect(failures.every((f) => f.user === undefined && f.reason === 'malformed Authorization header')).toBe(
      true,
    );
  });

  it('refuses every sign-in past the limit with 429 before looking at the password, the right one too', async () => {
    limiter.refuseSignIns = true;
    for (const header of [RIGHT, basic('ops:guess'), 'Basic !!!']) {
      const response = await get(header);
      expect(response.statusCode).toBe(429);
      expect(response.headers['retry-after']).toBe('30');
      expect(response.headers['www-authenticate']).toBeUndefined();
    }
    expect(limiter.counted).toEqual([]);
  });

  it('answers 429 without a challenge to the failure that reaches the limit', async () => {
    limiter.refuseFailures = true;
    const response = await get(basic('ops:guess'));
    expect(response.statusCode).toBe(429);
    expect(response.headers['www-authenticate']).toBeUndefined();
    expect(failures).toEqual([]);
  });

  it('leaves the open routes to their own rules', async () => {
    expect((await get(undefined, '/health')).statusCode).toBe(200);
    expect((await get('Basic !!!', '/health')).statusCode).toBe(200);
    expect(limiter.admitted).toEqual([]);
  });
});
