import { isReservedHeader } from './reserved-headers';

describe('isReservedHeader', () => {
  it.each([
    'From',
    'To',
    'Cc',
    'Bcc',
    'Subject',
    'Date',
    'Message-ID',
    'Reply-To',
    'Sender',
    'Return-Path',
    'X-Email-Id',
  ])('reserves %s', (name) => {
    expect(isReservedHeader(name)).toBe(true);
  });

  it('reserves every MIME-* and Content-* header', () => {
    for (const name of ['MIME-Version', 'Content-Type', 'Content-Transfer-Encoding', 'Content-Disposition']) {
      expect(isReservedHeader(name)).toBe(true);
    }
  });

  it('ignores case', () => {
    expect(isReservedHeader('FROM')).toBe(true);
    expect(isReservedHeader('message-id')).toBe(true);
    expect(isReservedHeader('x-EMAIL-id')).toBe(true);
    expect(isReservedHeader('CONTENT-TYPE')).toBe(true);
    expect(isReservedHeader('mime-version')).toBe(true);
  });

  it('leaves custom headers to the caller', () => {
    for (const name of [
      'X-Campaign',
      'List-Unsubscribe',
      'X-Content-Id',
      'X-From',
      'Fromage',
      'Contents',
      'X-Email',
    ]) {
      expect(isReservedHeader(name)).toBe(false);
    }
  });
});
