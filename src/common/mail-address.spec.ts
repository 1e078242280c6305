import { isMailAddress, parseMailbox } from './mail-address';

describe('isMailAddress', () => {
  it('accepts an ordinary address', () => {
    expect(isMailAddress('ana@example.com')).toBe(true);
    expect(isMailAddress('first.last+tag@mail.example.co.uk')).toBe(true);
  });

  it('refuses text that is not an address', () => {
    expect(isMailAddress('ana')).toBe(false);
    expect(isMailAddress('ana@')).toBe(false);
    expect(isMailAddress('@example.com')).toBe(false);
    expect(isMailAddress('ana @example.com')).toBe(false);
    expect(isMailAddress('')).toBe(false);
  });

  it('refuses non-strings', () => {
    expect(isMailAddress(undefined)).toBe(false);
    expect(isMailAddress({ email: 'ana@example.com' })).toBe(false);
  });

  it('refuses CR or LF anywhere', () => {
    expect(isMailAddress('ana@example.com\r\nBcc: eve@example.com')).toBe(false);
    expect(isMailAddress('ana@example.com\n')).toBe(false);
    expect(isMailAddress('ana\r@example.com')).toBe(false);
  });

  it('refuses addresses longer than 254 characters', () => {
    const local = 'a'.repeat(60);
    const shorterDomain = `${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.com`;
    const longerDomain = `${'e'.repeat(60)}.${shorterDomain}`;
    expect(`${local}@${shorterDomain}`).toHaveLength(247);
    expect(isMailAddress(`${local}@${shorterDomain}`)).toBe(true);
    expect(`${local}@${longerDomain}`).toHaveLength(308);
    expect(isMailAddress(`${local}@${longerDomain}`)).toBe(false);
  });
});

describe('parseMailbox', () => {
  it('reads a bare address', () => {
    expect(parseMailbox('noreply@example.com')).toEqual({ email: 'noreply@example.com' });
  });

  it('reads "Name <address>"', () => {
    expect(parseMailbox('FreeFace <noreply@example.com>')).toEqual({
      email: 'noreply@example.com',
      name: 'FreeFace',
    });
  });

  it('reads a name of several words', () => {
    expect(parseMailbox('FreeFace Mail Team <noreply@example.com>')).toEqual({
      email: 'noreply@example.com',
      name: 'FreeFace Mail Team',
    });
  });

  it('reads a quoted name, which may contain commas and angle brackets', () => {
    expect(parseMailbox('"Doe, Jane <Ops>" <jane@example.com>')).toEqual({
      email: 'jane@example.com',
      name: 'Doe, Jane <Ops>',
    });
  });

  it('reads <address> without a name, or with an empty quoted name, as a bare address', () => {
    expect(parseMailbox('<noreply@example.com>')).toEqual({ email: 'noreply@example.com' });
    expect(parseMailbox('"" <noreply@example.com>')).toEqual({ email: 'noreply@example.com' });
  });

  it('trims spaces around the text, the name and the address', () => {
    expect(parseMailbox('   FreeFace   < noreply@example.com >  ')).toEqual({
      email: 'noreply@example.com',
      name: 'FreeFace',
    });
  });

  it('refuses text that is not one mailbox', () => {
    expect(parseMailbox('FreeFace')).toBeUndefined();
    expect(parseMailbox('FreeFace <not-an-address>')).toBeUndefined();
    expect(parseMailbox('a@example.com, b@example.com')).toBeUndefined();
    expect(parseMailbox('FreeFace <noreply@example.com')).toBeUndefined();
    expect(parseMailbox('')).toBeUndefined();
  });

  it('refuses a line break inside the name', () => {
    expect(parseMailbox('Free\r\nBcc: eve@example.com <noreply@example.com>')).toBeUndefined();
    expect(parseMailbox('"Free\nFace" <noreply@example.com>')).toBeUndefined();
  });

  it('refuses a line break inside the address', () => {
    expect(parseMailbox('FreeFace <noreply@example.com\r\nBcc: eve@example.com>')).toBeUndefined();
    expect(parseMailbox('noreply@example.com\r\nBcc: eve@example.com')).toBeUndefined();
  });
});
