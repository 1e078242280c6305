import { fromSesNotification } from './ses-events';

const EMAIL_ID = '019b7a52-6c1e-7d3a-9f2b-8e4c1a2b3c4d';
const SNS_ID = 'f6c2a3b1-9d4e-5f60-8a7b-1c2d3e4f5a6b';
const SES_ID = '0102019bfd2c1e7a-6e4b5c8d-1f2a-4b3c-9d8e-7f6a5b4c3d2e-000000';

/** The `mail` object of an SES notification, with the original headers included (as the setting offers). */
const mail = (extra: Record<string, unknown> = {}) => ({
  timestamp: '2026-05-02T12:00:00.000Z',
  source: 'noreply@example.com',
  messageId: SES_ID,
  destination: ['ana@example.com', 'bo@example.com'],
  headersTruncated: false,
  headers: [
    { name: 'From', value: 'noreply@example.com' },
    { name: 'X-Email-Id', value: EMAIL_ID },
  ],
  ...extra,
});

const notify = (body: Record<string, unknown>) => JSON.stringify(body);

describe('fromSesNotification', () => {
  it('maps a delivery to one delivered event per recipient, matched by the X-Email-Id header', () => {
    const events = fromSesNotification(
      SNS_ID,
      notify({
        notificationType: 'Delivery',
        mail: mail(),
        delivery: {
          timestamp: '2026-05-02T12:00:01.000Z',
          recipients: ['ana@example.com', 'Bo@Example.com'],
          smtpResponse: '250 2.6.0 Message received',
        },
      }),
    );
    expect(events).toEqual([
      {
        kind: 'delivered',
        recipient: 'ana@example.com',
        code: 250,
        eventId: `${SNS_ID}:ana@example.com`,
        emailId: EMAIL_ID,
        sesMessageId: SES_ID,
      },
      {
        kind: 'delivered',
        recipient: 'Bo@Example.com',
        code: 250,
        eventId: `${SNS_ID}:bo@example.com`,
        emailId: EMAIL_ID,
        sesMessageId: SES_ID,
      },
    ]);
  });

  it('maps a permanent bounce, with the code of its diagnostic; the SNS id alone for one recipient', () => {
    const events = fromSesNotification(
      SNS_ID,
      notify({
        notificationType: 'Bounce',
        mail: mail(),
        bounce: {
          bounceType: 'Permanent',
          bounceSubType: 'General',
          bouncedRecipients: [
            {
              emailAddress: 'ana@example.com',
              action: 'failed',
              status: '5.1.1',
              diagnosticCode: 'smtp; 550 5.1.1 user unknown',
            },
          ],
        },
      }),
    );
    expect(events).toEqual([
      {
        kind: 'bounced',
        recipient: 'ana@example.com',
        code: 550,
        eventId: SNS_ID,
        emailId: EMAIL_ID,
        sesMessageId: SES_ID,
      },
    ]);
  });

  it('maps a complaint, and reads event publishing’s eventType and email_id tag', () => {
    const events = fromSesNotification(
      SNS_ID,
      notify({
        eventType: 'Complaint',
        mail: mail({ headers: undefined, tags: { email_id: [EMAIL_ID], 'ses:configuration-set': ['x'] } }),
        complaint: {
          complainedRecipients: [{ emailAddress: 'ana@example.com' }],
          complaintFeedbackType: 'abuse',
        },
      }),
    );
    expect(events).toEqual([
      {
        kind: 'complained',
        recipient: 'ana@example.com',
        eventId: SNS_ID,
        emailId: EMAIL_ID,
        sesMessageId: SES_ID,
      },
    ]);
  });

  it('leaves our id out when the notification carries none, so the email is found by SES’s message id', () => {
    const [event] = fromSesNotification(
      SNS_ID,
      notify({
        notificationType: 'Delivery',
        mail: mail({ headers: undefined }),
        delivery: { recipients: ['ana@example.com'] },
      }),
    );
    expect(event).toEqual({
      kind: 'delivered',
      recipient: 'ana@example.com',
      eventId: SNS_ID,
      sesMessageId: SES_ID,
    });
    const [forged] = fromSesNotification(
      SNS_ID,
      notify({
        notificationType: 'Delivery',
        mail: mail({ headers: [{ name: 'X-Email-Id', value: 'not-an-id' }] }),
        delivery: { recipients: ['ana@example.com'] },
      }),
    );
    expect(forged).not.toHaveProperty('emailId');
  });

  it('ignores transient and undetermined bounces, other event types, and what is not an SES notification', () => {
    const bounce = (bounceType: string) =>
      notify({
        notificationType: 'Bounce',
        mail: mail(),
        bounce: { bounceType, bouncedRecipients: [{ emailAddress: 'ana@example.com' }] },
      });
    for (const message of [
      bounce('Transient'),
      bounce('Undetermined'),
      notify({ eventType: 'Send', mail: mail(), send: {} }),
      notify({ eventType: 'DeliveryDelay', mail: mail(), deliveryDelay: {} }),
      notify({ eventType: 'Open', mail: mail(), open: {} }),
      notify({ notificationType: 'Delivery', delivery: { recipients: ['ana@example.com'] } }),
      notify({ notificationType: 'AmazonSnsSubscriptionSucceeded', message: 'ok' }),
      'You have chosen to subscribe to the topic',
      '[]',
    ])
      expect(fromSesNotification(SNS_ID, message)).toEqual([]);
  });
});
