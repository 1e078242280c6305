import { ProblemError } from '../common/problem-error';
import { RedisUnavailableError } from '../common/redis-unavailable.error';
import { smtpError, smtpReplyFor, withEnhancedCode } from './smtp-replies';

describe('SMTP replies', () => {
  it('maps the API’s refusals onto SMTP codes a client acts on', () => {
    const reply = (error: unknown) => {
      const { responseCode, message } = smtpReplyFor(error);
      return `${responseCode} ${message}`;
    };
    expect(reply(new ProblemError(429, 'rate-limited', 'Daily quota reached.'))).toBe(
      '450 4.7.0 Rate limited: Daily quota reached.',
    );
    expect(reply(new ProblemError(503, 'service-unavailable', 'Redis is unavailable.'))).toBe(
      '451 4.3.0 Storage unavailable, try again later',
    );
    expect(reply(new RedisUnavailableError())).toBe('451 4.3.0 Storage unavailable, try again later');
    expect(
      reply(
        new ProblemError(400, 'validation-error', 'invalid', {
          errors: [{ field: 'subject', message: 'must not be empty' }],
        }),
      ),
    ).toBe('554 5.6.0 Message refused: subject must not be empty');
    expect(reply(new ProblemError(422, 'template-error', 'Template welcome is missing name.'))).toBe(
      '554 5.6.0 Message refused: Template welcome is missing name.',
    );
    expect(reply(new Error('boom'))).toBe('451 4.3.0 Local error, try again later');
  });

  it('writes the enhanced status code the contract pins', () => {
    expect(withEnhancedCode(250, 'queued as x')).toBe('2.0.0 queued as x');
    expect(smtpError(535, 'no').message).toBe('5.7.8 no');
    expect(smtpError(552, 'big')).toMatchObject({ responseCode: 552, message: '5.3.4 big' });
  });
});
