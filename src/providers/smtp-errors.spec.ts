import { PermanentDeliveryError, TransientDeliveryError } from './delivery-errors';
import { classifySmtpError } from './smtp-errors';

/** A nodemailer-shaped error. */
function smtpError(fields: { code?: string; responseCode?: number; response?: string; message?: string }) {
  return Object.assign(new Error(fields.message ?? 'smtp failure'), fields);
}

describe('classifySmtpError', () => {
  it('treats a 4xx reply as transient', () => {
    const error = classifySmtpError(
      smtpError({ code: 'EENVELOPE', responseCode: 451, response: '451 4.3.0 Try again later' }),
    );
    expect(error).toBeInstanceOf(TransientDeliveryError);
    expect(error.permanent).toBe(false);
    expect(error.message).toBe('451 4.3.0 Try again later');
  });

  it('treats a 5xx reply as permanent', () => {
    const error = classifySmtpError(
      smtpError({ code: 'EENVELOPE', responseCode: 550, response: '550 5.1.1 User unknown' }),
    );
    expect(error).toBeInstanceOf(PermanentDeliveryError);
    expect(error.permanent).toBe(true);
    expect(error.message).toBe('550 5.1.1 User unknown');
  });

  it('treats a 5xx reply to the message as permanent', () => {
    const error = classifySmtpError(
      smtpError({ code: 'EMESSAGE', responseCode: 554, response: '554 5.7.1 Spam detected' }),
    );
    expect(error).toBeInstanceOf(PermanentDeliveryError);
  });

  it('treats a 4xx reply as transient whatever the code', () => {
    expect(classifySmtpError(smtpError({ code: 'EMESSAGE', responseCode: 452 }))).toBeInstanceOf(
      TransientDeliveryError,
    );
    expect(classifySmtpError(smtpError({ responseCode: 421 }))).toBeInstanceOf(TransientDeliveryError);
  });

  it('treats rejected credentials (EAUTH) as transient even with a 535 reply', () => {
    const error = classifySmtpError(
      smtpError({
        code: 'EAUTH',
        responseCode: 535,
        response: '535 5.7.8 Authentication credentials invalid',
      }),
    );
    expect(error).toBeInstanceOf(TransientDeliveryError);
    expect(error.message).toBe('535 5.7.8 Authentication credentials invalid');
  });

  it('treats a server that will not do STARTTLS (ETLS, even with a 5xx reply) as transient, and says so', () => {
    const error = classifySmtpError(
      smtpError({
        code: 'ETLS',
        responseCode: 502,
        response: '502 5.5.1 Error: command not implemented',
        message: 'Error upgrading connection with STARTTLS: 502 5.5.1 Error: command not implemented',
      }),
    );
    expect(error).toBeInstanceOf(TransientDeliveryError);
    expect(error.message).toBe(
      'TLS with the SMTP server failed, nothing was sent in plaintext: Error upgrading connection with ' +
        'STARTTLS: 502 5.5.1 Error: command not implemented',
    );
  });

  it.each(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ECONNREFUSED', 'ECONNRESET', 'EPROTOCOL'])(
    'treats the network error %s without a reply as transient',
    (code) => {
      const error = classifySmtpError(smtpError({ code, message: `${code} happened` }));
      expect(error).toBeInstanceOf(TransientDeliveryError);
      expect(error.message).toBe(`${code} happened`);
    },
  );

  it('treats EENVELOPE without a reply code as permanent', () => {
    const error = classifySmtpError(smtpError({ code: 'EENVELOPE', message: 'No recipients defined' }));
    expect(error).toBeInstanceOf(PermanentDeliveryError);
    expect(error.message).toBe('No recipients defined');
  });

  it('treats EMESSAGE without a reply code as permanent', () => {
    expect(classifySmtpError(smtpError({ code: 'EMESSAGE' }))).toBeInstanceOf(PermanentDeliveryError);
  });

  it('treats an unknown error without a reply as transient', () => {
    expect(classifySmtpError(new Error('something odd'))).toBeInstanceOf(TransientDeliveryError);
  });

  it('treats a thrown non-error as transient with a generic reason', () => {
    for (const thrown of [undefined, null, 'boom', 42]) {
      const error = classifySmtpError(thrown);
      expect(error).toBeInstanceOf(TransientDeliveryError);
      expect(error.message).toBe('SMTP delivery failed');
    }
  });

  it('prefers the server reply over the message as the reason', () => {
    const error = classifySmtpError(
      smtpError({
        code: 'EENVELOPE',
        responseCode: 550,
        response: '550 mailbox full',
        message: "Can't send mail",
      }),
    );
    expect(error.message).toBe('550 mailbox full');
  });

  it('falls back to the message when the reply is empty', () => {
    expect(
      classifySmtpError(smtpError({ code: 'ETIMEDOUT', response: '', message: 'Timeout' })).message,
    ).toBe('Timeout');
  });

  it('truncates the reason to 500 characters', () => {
    const response = `550 ${'x'.repeat(1000)}`;
    const error = classifySmtpError(smtpError({ responseCode: 550, response }));
    expect(error.message).toHaveLength(500);
    expect(error.message).toBe(response.slice(0, 500));
  });

  it('keeps a reason of exactly 500 characters whole', () => {
    const response = `550 ${'y'.repeat(496)}`;
    expect(classifySmtpError(smtpError({ responseCode: 550, response })).message).toBe(response);
  });

  it('names the smtp provider and keeps the original error as the cause', () => {
    const original = smtpError({ code: 'ECONNECTION' });
    const error = classifySmtpError(original);
    expect(error.provider).toBe('smtp');
    expect(error.cause).toBe(original);
  });
});
