import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { newWebhookSecret, signWebhook } from './webhook-signature';

describe('webhook signatures', () => {
  it('makes whsec_ secrets of 32 random bytes', () => {
    const secret = newWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(secret);
  });

  it("matches the Standard Webhooks specification's published example", () => {
    // From the specification's reference tests (standard-webhooks, libraries/javascript/src/index.test.ts).
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
    const timestamp = 1614265330;
    const body = '{"test": 2432232314}';
    expect(signWebhook(secret, id, timestamp, body)).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('signs id, timestamp and body together, keyed by the decoded secret', () => {
    const secret = newWebhookSecret();
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', key).update('evt.1700000000.{"a":1}').digest('base64');
    expect(signWebhook(secret, 'evt', 1700000000, '{"a":1}')).toBe(`v1,${expected}`);
    expect(signWebhook(secret, 'evt', 1700000001, '{"a":1}')).not.toBe(`v1,${expected}`);
    expect(signWebhook(secret, 'evt', 1700000000, '{"a":2}')).not.toBe(`v1,${expected}`);
  });

  it("verifies with the specification's library, as a receiver would", () => {
    const secret = newWebhookSecret();
    const nowSeconds = Math.floor(Date.now() / 1000);
    const body = '{"type":"email.sent","data":{"name":"Zoë"}}';
    const headers = {
      'webhook-id': 'evt_1',
      'webhook-timestamp': String(nowSeconds),
      'webhook-signature': signWebhook(secret, 'evt_1', nowSeconds, body),
    };
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow('No matching signature');
  });
});
