import { AppProcess } from './app-process';
import type { client } from './fixtures';
import { freePort, waitUntil } from './ports';
import type { SmtpSink } from './smtp-sink';

/** The dashboard's basic-auth credentials in the tests. */
export const DASHBOARD = { user: 'ops', password: 'dashboard-pass-42' };

export function dashboardEnv(): Record<string, string> {
  return { DASHBOARD_USER: DASHBOARD.user, DASHBOARD_PASSWORD: DASHBOARD.password };
}

export const basicAuth = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;

/** A monitor process; it is ready when its own MONITOR_PORT answers /health/ready. */
export async function startMonitor(env: Record<string, string>): Promise<AppProcess> {
  const port = await freePort();
  return AppProcess.start({ role: 'monitor', env: { ...env, MONITOR_PORT: String(port) }, probePort: port });
}

type Api = ReturnType<typeof client>;

/** Waits until an email reaches `status` (through the API, as its sender). */
export async function waitForStatus(api: Api, id: string, status: string): Promise<Record<string, unknown>> {
  let last: Record<string, unknown> = {};
  await waitUntil(
    async () => {
      last = (await api.get(`/api/v1/emails/${id}`)).body;
      return last.status === status;
    },
    15_000,
    `email ${id} to be ${status} (last: ${String(last.status)})`,
  );
  return last;
}

/**
 * A real dead letter: the SMTP sink answers 550 (a permanent failure) to every message while this email is
 * delivered, so it dies on its first attempt. Nothing else may be in flight meanwhile.
 */
export async function makeDeadLetter(api: Api, sink: SmtpSink, subject: string): Promise<string> {
  sink.reply = () => ({ code: 550, message: '5.1.1 <nobody@example.com>: Recipient address rejected' });
  try {
    const accepted = await api.post('/api/v1/emails', {
      to: ['nobody@example.com'],
      subject,
      text: 'This one bounces.',
    });
    if (accepted.status !== 202) throw new Error(`send refused: ${JSON.stringify(accepted.body)}`);
    const id = accepted.body.id as string;
    await waitForStatus(api, id, 'dead');
    return id;
  } finally {
    sink.reply = () => undefined;
  }
}
