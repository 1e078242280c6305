import { smtpReplyCode } from './provider-event';

describe('smtpReplyCode', () => {
  it('reads the reply code at the start of a server answer as providers quote it', () => {
    expect(smtpReplyCode('250 OK')).toBe(250);
    expect(smtpReplyCode('550 5.1.1 The email account that you tried to reach does not exist.')).toBe(550);
    expect(smtpReplyCode('smtp; 550 5.1.1 user unknown')).toBe(550);
    expect(smtpReplyCode('  421-4.7.0 Try again later')).toBe(421);
  });

  it('finds none in an enhanced status code, free text, or what is not text', () => {
    for (const text of ['5.1.1', 'user unknown', '2500 OK', '650 nope', '', undefined, 550])
      expect(smtpReplyCode(text)).toBeUndefined();
  });
});
