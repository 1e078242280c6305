import { headerReservation, reservedHeaderProblem } from './reserved-headers';

describe('headerReservation', () => {
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
    'MIME-Version',
    'Content-Type',
    'Content-Transfer-Encoding',
    'Content-Disposition',
  ])('keeps %s for the service', (name) => {
    expect(headerReservation(name)).toBe('message');
  });

  it.each([
    'X-SES-CONFIGURATION-SET',
    'X-SES-MESSAGE-TAGS',
    'X-SES-SOURCE-ARN',
    'X-SES-FROM-ARN',
    'X-SES-RETURN-PATH-ARN',
    'X-SMTPAPI',
    'X-SG-EID',
    'X-SG-ID',
    'X-Mailgun-Variables',
    'X-Mailgun-Tag',
    'X-Mailgun-Track',
  ])('refuses %s, an instruction to a provider', (name) => {
    expect(headerReservation(name)).toBe('provider');
  });

  it.each([
    'Received',
    'DKIM-Signature',
    'ARC-Seal',
    'ARC-Message-Signature',
    'ARC-Authentication-Results',
    'Authentication-Results',
    'Resent-From',
    'Resent-Sender',
    'Resent-To',
    'Resent-Date',
    'Resent-Message-ID',
  ])('refuses %s, a trace field', (name) => {
    expect(headerReservation(name)).toBe('trace');
  });

  it('ignores case', () => {
    expect(headerReservation('FROM')).toBe('message');
    expect(headerReservation('x-EMAIL-id')).toBe('message');
    expect(headerReservation('mime-version')).toBe('message');
    expect(headerReservation('x-ses-configuration-set')).toBe('provider');
    expect(headerReservation('x-SmtpApi')).toBe('provider');
    expect(headerReservation('dkim-SIGNATURE')).toBe('trace');
    expect(headerReservation('RESENT-FROM')).toBe('trace');
  });

  it('leaves custom headers to the caller', () => {
    for (const name of [
      'X-Campaign',
      'List-Unsubscribe',
      'In-Reply-To',
      'References',
      'X-Content-Id',
      'X-From',
      'Fromage',
      'Contents',
      'X-Email',
      'X-Sesame',
      'X-SGX',
      'X-Mailgunner',
      'X-Received-By-Us',
      'Arcade',
      'Resentment',
    ]) {
      expect([name, headerReservation(name)]).toEqual([name, undefined]);
    }
  });
});

describe('reservedHeaderProblem', () => {
  it('names the header and says why it is reserved', () => {
    expect(reservedHeaderProblem('Subject')).toBe(
      'header "Subject" is set by the service and cannot be overridden',
    );
    expect(reservedHeaderProblem('X-SES-CONFIGURATION-SET')).toBe(
      'header "X-SES-CONFIGURATION-SET" would instruct the email provider and cannot be set',
    );
    expect(reservedHeaderProblem('Received')).toBe(
      'header "Received" is written by mail servers in transit and cannot be set',
    );
    expect(reservedHeaderProblem('X-Campaign')).toBeUndefined();
  });
});
