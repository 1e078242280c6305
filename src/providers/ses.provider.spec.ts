import { PermanentDeliveryError, TransientDeliveryError } from './delivery-errors';
import { classifySesError, redact, sesTagText, toSesTags } from './ses.provider';

/** An error shaped as the v3 SDK throws it once SES answered (name = SES's code). */
function sesError(status: number, code: string, message: string, fault: 'client' | 'server' = 'client') {
  return Object.assign(new Error(message), {
    name: code,
    Code: code,
    $fault: fault,
    $metadata: { httpStatusCode: status, attempts: 1 },
  });
}

describe('toSesTags', () => {
  const email = { id: '0197a3c2-7d1e-7c4f-9a51-1d2e3f405061', tags: [], metadata: {} };

  it('always tags the email id first', () => {
    expect(toSesTags(email)).toEqual([{ Name: 'email_id', Value: email.id }]);
  });

  it('maps each tag to tag_<name>=1 and each metadata entry to meta_<key>=<value>', () => {
    expect(
      toSesTags({ ...email, tags: ['invoice', 'eu-west'], metadata: { invoiceId: '42', user_id: 'u-7' } }),
    ).toEqual([
      { Name: 'email_id', Value: email.id },
      { Name: 'tag_invoice', Value: '1' },
      { Name: 'tag_eu-west', Value: '1' },
      { Name: 'meta_invoiceId', Value: '42' },
      { Name: 'meta_user_id', Value: 'u-7' },
    ]);
  });

  it('turns the characters SES refuses into _ in names and values', () => {
    expect(
      toSesTags({
        ...email,
        tags: ['billing.v2:eu'],
        metadata: { 'order.id': 'A 42/ü', mail: 'ana@example.com' },
      }),
    ).toEqual([
      { Name: 'email_id', Value: email.id },
      { Name: 'tag_billing_v2_eu', Value: '1' },
      { Name: 'meta_order_id', Value: 'A_42__' },
      { Name: 'meta_mail', Value: 'ana_example_com' },
    ]);
  });

  it('cuts values to 256 characters', () => {
    const [, tag] = toSesTags({ ...email, metadata: { note: 'x'.repeat(500) } });
    expect(tag).toEqual({ Name: 'meta_note', Value: 'x'.repeat(256) });
  });

  it('drops an entry with an empty value, which SES would refuse', () => {
    expect(toSesTags({ ...email, metadata: { empty: '' } })).toEqual([{ Name: 'email_id', Value: email.id }]);
  });

  it('keeps the first of two entries that sanitise to the same name', () => {
    expect(toSesTags({ ...email, tags: ['a.b', 'a:b'], metadata: { 'x.y': '1', x_y: '2' } })).toEqual([
      { Name: 'email_id', Value: email.id },
      { Name: 'tag_a_b', Value: '1' },
      { Name: 'meta_x_y', Value: '1' },
    ]);
  });

  it('produces only names and values SES accepts', () => {
    const tags = toSesTags({
      ...email,
      tags: ['a:b.c', 'Z-9_'],
      metadata: { 'k.1': 'é\u0000<script>'.repeat(60), k2: '\r\n' },
    });
    for (const { Name, Value } of tags) {
      expect(Name).toMatch(/^[A-Za-z0-9_-]{1,256}$/);
      expect(Value).toMatch(/^[A-Za-z0-9_-]{1,256}$/);
    }
  });

  it('sesTagText keeps what SES allows as it is', () => {
    expect(sesTagText('Abc_09-x')).toBe('Abc_09-x');
  });
});

describe('classifySesError', () => {
  it.each([
    [400, 'Throttling', 'Maximum sending rate exceeded.'],
    [400, 'ThrottlingException', 'Daily message quota exceeded'],
    [400, 'LimitExceeded', 'Rate exceeded'],
    [429, 'TooManyRequestsException', 'Too many requests'],
    [400, 'AccountSendingPausedException', 'Email sending is disabled for your account.'],
    [400, 'ConfigurationSetSendingPausedException', 'Sending is paused for this configuration set.'],
    [400, 'RequestExpired', 'Request has expired.'],
  ])('treats %i %s as transient', (status, code, message) => {
    const error = classifySesError(sesError(status, code, message));
    expect(error).toBeInstanceOf(TransientDeliveryError);
    expect(error.message).toBe(`${status} ${code}: ${message}`);
    expect(error.provider).toBe('ses');
  });

  it('treats a quota message as transient whatever its code', () => {
    expect(classifySesError(sesError(400, 'Unknown', 'Maximum sending rate exceeded.'))).toBeInstanceOf(
      TransientDeliveryError,
    );
  });

  it.each([
    [500, 'InternalFailure'],
    [503, 'ServiceUnavailable'],
    [502, 'Unknown'],
  ])('treats a server error (%i %s) as transient', (status, code) => {
    expect(classifySesError(sesError(status, code, 'try later', 'server'))).toBeInstanceOf(
      TransientDeliveryError,
    );
  });

  it.each([
    [400, 'MessageRejected', 'Email address is not verified. The following identities failed the check'],
    [400, 'MailFromDomainNotVerifiedException', 'MAIL FROM domain is not verified'],
    [400, 'ConfigurationSetDoesNotExist', 'Configuration set <x> does not exist.'],
    [400, 'InvalidParameterValue', 'Illegal address'],
    [403, 'InvalidClientTokenId', 'The security token included in the request is invalid.'],
    [403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match'],
    [413, 'Unknown', 'Request entity too large'],
  ])('treats %i %s as permanent, keeping SES reason', (status, code, message) => {
    const error = classifySesError(sesError(status, code, message));
    expect(error).toBeInstanceOf(PermanentDeliveryError);
    expect(error.message).toBe(`${status} ${code}: ${message}`);
  });

  it('treats an error without an HTTP answer (refused, reset, timeout) as a transient network failure', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
      code: 'ECONNREFUSED',
      $metadata: { attempts: 1 },
    });
    const error = classifySesError(refused);
    expect(error).toBeInstanceOf(TransientDeliveryError);
    expect(error.message).toBe('network error: connect ECONNREFUSED 127.0.0.1:1');
    const timeout = Object.assign(new Error('request exceeded 30000 ms'), { name: 'TimeoutError' });
    expect(classifySesError(timeout)).toBeInstanceOf(TransientDeliveryError);
  });

  it('treats a success answer the SDK could not read as transient (at-least-once)', () => {
    expect(classifySesError(sesError(200, 'Unknown', 'Unknown'))).toBeInstanceOf(TransientDeliveryError);
  });

  it('caps the reason at 500 characters', () => {
    expect(classifySesError(sesError(400, 'MessageRejected', 'x'.repeat(2000))).message).toHaveLength(500);
  });
});

describe('redact', () => {
  it('replaces every occurrence of the secret', () => {
    expect(redact('key s3cr3t and s3cr3t again', 's3cr3t')).toBe('key [redacted] and [redacted] again');
  });

  it('leaves the text alone when there is no secret', () => {
    expect(redact('nothing', '')).toBe('nothing');
  });
});
