import { basicAuthVerifier, parseBasicAuthorization } from './basic-auth';

const basic = (text: string) => `Basic ${Buffer.from(text, 'utf8').toString('base64')}`;

describe('parseBasicAuthorization', () => {
  it('reads the user and password', () => {
    expect(parseBasicAuthorization(basic('ops:s3cret-pass'))).toEqual({
      user: 'ops',
      password: 's3cret-pass',
    });
  });

  it('keeps colons in the password and reads UTF-8', () => {
    expect(parseBasicAuthorization(basic('åsa:pa:ss:wörd'))).toEqual({ user: 'åsa', password: 'pa:ss:wörd' });
  });

  it('accepts the scheme in any case', () => {
    expect(parseBasicAuthorization(basic('ops:x').replace('Basic', 'bAsIc'))).toEqual({
      user: 'ops',
      password: 'x',
    });
  });

  it('refuses other schemes, bad base64 and credentials without a colon', () => {
    expect(parseBasicAuthorization(undefined)).toBeUndefined();
    expect(parseBasicAuthorization('Bearer abc')).toBeUndefined();
    expect(parseBasicAuthorization('Basic not*base64')).toBeUndefined();
    expect(parseBasicAuthorization('Basic')).toBeUndefined();
    expect(parseBasicAuthorization(basic('no-colon'))).toBeUndefined();
  });
});

describe('basicAuthVerifier', () => {
  const verify = basicAuthVerifier({ user: 'ops', password: 'correct horse battery' });

  it('accepts the configured user and password', () => {
    expect(verify(basic('ops:correct horse battery'))).toEqual({ outcome: 'ok', user: 'ops' });
  });

  it('refuses a wrong password, a wrong user and a prefix of either', () => {
    expect(verify(basic('ops:correct horse'))).toEqual({ outcome: 'wrong', user: 'ops' });
    expect(verify(basic('op:correct horse battery'))).toEqual({ outcome: 'wrong', user: 'op' });
    expect(verify(basic('ops:correct horse battery!'))).toEqual({ outcome: 'wrong', user: 'ops' });
    expect(verify(basic(':'))).toEqual({ outcome: 'wrong', user: '' });
  });

  it('tells a missing header from a malformed one', () => {
    expect(verify(undefined)).toEqual({ outcome: 'missing' });
    expect(verify('')).toEqual({ outcome: 'missing' });
    expect(verify('Bearer st_dev_x')).toEqual({ outcome: 'malformed' });
  });

  it('never returns the presented password', () => {
    const result = verify(basic('ops:guess-1234'));
    expect(JSON.stringify(result)).not.toContain('guess-1234');
  });
});
