import { sizedJson } from '../common/data-limit';
import type { EmailRecord, NewEmail, SharedGroupData } from './email-record';
import { messageJson, storedBytes } from './stored-bytes';
import type { OutboundMessage } from '../providers/outbound-email';

const message = (subject: string): OutboundMessage => ({
  from: { email: 'noreply@example.com' },
  to: [{ email: 'ana@example.com' }],
  cc: [],
  bcc: [],
  subject,
  text: 'Grüße',
  headers: {},
  attachments: [],
  tags: [],
  metadata: {},
});
const email = (subject: string, shared?: SharedGroupData): NewEmail => ({
  record: {} as EmailRecord,
  message: message(subject),
  ...(shared ? { shared } : {}),
});
const bytesOf = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

describe('storedBytes', () => {
  it('counts each message as UTF-8 JSON', () => {
    expect(storedBytes([email('a'), email('b')])).toBe(bytesOf(message('a')) + bytesOf(message('b')));
  });

  it("counts a group's shared data once, however many emails refer to it", () => {
    const shared: SharedGroupData = {
      groupId: 'g',
      data: sizedJson({ notes: 'x'.repeat(1000) }),
      members: 3,
    };
    const other: SharedGroupData = { groupId: 'h', data: sizedJson({ notes: 'y' }), members: 1 };
    const emails = [email('a', shared), email('b', shared), email('c', shared), email('d', other)];
    expect(storedBytes(emails)).toBe(4 * bytesOf(message('a')) + shared.data.bytes + other.data.bytes);
  });

  it('serializes each message once: what is counted is what is written', () => {
    const counted = email('a');
    const stringify = jest.spyOn(JSON, 'stringify');
    storedBytes([counted]);
    expect(messageJson(counted.message)).toBe(JSON.stringify(message('a')));
    expect(stringify.mock.calls.filter(([value]) => value === counted.message)).toHaveLength(1);
    stringify.mockRestore();
  });
});
