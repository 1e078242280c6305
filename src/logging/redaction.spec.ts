import { generateToken } from '../common/token-format';
import { createLineScrubber, REDACTED, REDACTED_PATHS } from './redaction';

describe('createLineScrubber', () => {
  const devToken = generateToken('dev');
  const liveToken = generateToken('live');

  it('replaces a dev or live token anywhere in a line', () => {
    const scrub = createLineScrubber([]);
    expect(scrub(`{"msg":"bad token ${devToken} from crm"}`)).toBe(
      `{"msg":"bad token ${REDACTED} from crm"}`,
    );
    expect(scrub(`Bearer ${liveToken}`)).toBe(`Bearer ${REDACTED}`);
  });

  it('replaces every token in a line', () => {
    const scrub = createLineScrubber([]);
    expect(scrub(`${devToken},${liveToken},${devToken}`)).toBe(`${REDACTED},${REDACTED},${REDACTED}`);
  });

  it('also replaces token-shaped strings whose checksum is wrong or that are truncated', () => {
    const scrub = createLineScrubber([]);
    expect(scrub(`x ${devToken.slice(0, 30)} y`)).toBe(`x ${REDACTED} y`);
    expect(scrub('st_live_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).toBe(REDACTED);
  });

  it('leaves short st_ words and other text alone', () => {
    const scrub = createLineScrubber([]);
    const line = '{"level":30,"msg":"st_dev_ prefix in use; first_st_dev_abc; email sent","emailId":"0190"}';
    expect(scrub(line)).toBe(line);
  });

  it('replaces a literal secret in its raw form', () => {
    const scrub = createLineScrubber(['hunter2-pw']);
    expect(scrub('{"msg":"login failed with hunter2-pw twice: hunter2-pw"}')).toBe(
      `{"msg":"login failed with ${REDACTED} twice: ${REDACTED}"}`,
    );
  });

  it('replaces a literal secret in its JSON-escaped form', () => {
    const secret = 'pa"ss\\word';
    const line = JSON.stringify({ msg: `auth ${secret} rejected` });
    expect(line).toContain('pa\\"ss\\\\word');
    expect(createLineScrubber([secret])(line)).toBe(`{"msg":"auth ${REDACTED} rejected"}`);
  });

  it('replaces a literal secret in its base64 form', () => {
    const secret = 'smtp-password-1';
    const encoded = Buffer.from(secret).toString('base64');
    expect(createLineScrubber([secret])(`AUTH PLAIN ${encoded}`)).toBe(`AUTH PLAIN ${REDACTED}`);
  });

  it('ignores secrets shorter than 4 characters, which would blank ordinary words', () => {
    const scrub = createLineScrubber(['abc', '']);
    expect(scrub('abc is fine')).toBe('abc is fine');
  });

  it('scrubs several secrets and tokens in one line', () => {
    const scrub = createLineScrubber(['redis-pass', 'smtp-pass']);
    expect(scrub(`redis-pass smtp-pass ${devToken} ok`)).toBe(`${REDACTED} ${REDACTED} ${REDACTED} ok`);
  });

  it('returns the line unchanged when there is nothing to scrub', () => {
    const line = '{"level":30,"msg":"email sent","latencyMs":12}';
    expect(createLineScrubber(['secret-value'])(line)).toBe(line);
  });
});

describe('REDACTED_PATHS', () => {
  it('covers the token headers and password-like fields', () => {
    expect(REDACTED_PATHS).toEqual(
      expect.arrayContaining([
        'req.headers.authorization',
        'req.headers["x-service-token"]',
        '*.password',
        '*.apiKey',
        '*.token',
      ]),
    );
  });
});
