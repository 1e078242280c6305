import { credentialsCheck } from './basic-auth';

describe('credentialsCheck', () => {
  const matches = credentialsCheck({ user: 'ops', password: 'correct horse battery' });

  it('accepts the configured user and password', () => {
    expect(matches('ops', 'correct horse battery')).toBe(true);
  });

  it('refuses a wrong password, a wrong user and a prefix or extension of either', () => {
    expect(matches('ops', 'correct horse')).toBe(false);
    expect(matches('op', 'correct horse battery')).toBe(false);
    expect(matches('ops', 'correct horse battery!')).toBe(false);
    expect(matches('ops ', 'correct horse battery')).toBe(false);
    expect(matches('', '')).toBe(false);
  });

  it('compares UTF-8 credentials exactly', () => {
    const utf8 = credentialsCheck({ user: 'åsa', password: 'pa:ss:wörd' });
    expect(utf8('åsa', 'pa:ss:wörd')).toBe(true);
    expect(utf8('asa', 'pa:ss:word')).toBe(false);
  });
});
