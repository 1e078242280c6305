// The Compose stack's published ports, from the host (scripts/ci/docker-e2e.sh): Swagger on 3000, the dashboard
// on 8011, an email through the SMTP ingress on 2525 that arrives in MailDev (1080). TOKEN: the stack's token.
/* global AbortSignal */
import nodemailer from 'nodemailer';

const token = process.env.TOKEN;
const api = process.env.BASE_URL ?? 'http://localhost:3000';
const monitor = process.env.MONITOR_URL ?? 'http://localhost:8011';
const maildev = process.env.MAILCATCHER_URL ?? 'http://localhost:1080';
const dashboardAuth = `Basic ${Buffer.from(`${process.env.DASHBOARD_USER ?? 'ci'}:${process.env.DASHBOARD_PASSWORD ?? 'ci-dashboard-password-not-secret'}`).toString('base64')}`;
let failed = 0;

function check(name, ok, detail = '') {
  console.log(`${ok ? 'PASS' : 'FAIL'}  ${name}${ok || !detail ? '' : `: ${detail}`}`);
  if (!ok) failed++;
}

async function get(url, headers = {}) {
  try {
    const response = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
    return {
      status: response.status,
      type: response.headers.get('content-type') ?? '',
      text: await response.text(),
    };
  } catch (error) {
    return { status: 0, type: '', text: String(error) };
  }
}

const ui = await get(`${api}/docs`);
check(
  'Swagger UI on 3000 (/docs)',
  ui.status === 200 && ui.type.includes('text/html'),
  `${ui.status} ${ui.type}`,
);
const document = await get(`${api}/docs-json`);
check(
  'OpenAPI document on 3000 (/docs-json)',
  document.status === 200 && /"openapi":"3\./.test(document.text),
  `${document.status} ${document.text.slice(0, 120)}`,
);

const dashboard = await get(`${monitor}/`, { authorization: dashboardAuth });
check(
  'dashboard on 8011 (signed in)',
  dashboard.status === 200 && dashboard.type.includes('text/html'),
  String(dashboard.status),
);

// The SMTP ingress in development takes AUTH over plain SMTP; the reply names the email's id.
const subject = `FreeFace docker CI through the SMTP ingress ${Date.now()}`;
let emailId = '';
try {
  const transport = nodemailer.createTransport({
    host: 'localhost',
    port: 2525,
    secure: false,
    ignoreTLS: true,
    auth: { user: 'example', pass: token },
    connectionTimeout: 10_000,
    socketTimeout: 20_000,
  });
  const info = await transport.sendMail({
    from: 'ci@example.com',
    to: 'smtp-ingress@example.com',
    subject,
    text: 'Sent to the SMTP ingress on 2525 by test/docker/ports.mjs.',
  });
  emailId = /queued as (\S+)/.exec(info.response)?.[1] ?? '';
  check('SMTP ingress on 2525: 250 queued as <id>', emailId !== '', info.response);
} catch (error) {
  check('SMTP ingress on 2525: 250 queued as <id>', false, String(error));
}

if (emailId) {
  let arrived = false;
  for (const deadline = Date.now() + 30_000; !arrived && Date.now() < deadline;) {
    const list = await get(`${maildev}/api/email`);
    if (list.status === 200) {
      arrived = JSON.parse(list.text).some(
        (m) => m.headers?.['x-email-id'] === emailId && m.subject === subject,
      );
    }
    if (!arrived) await new Promise((resolve) => setTimeout(resolve, 300));
  }
  check(
    'the SMTP ingress email in MailDev on 1080 (X-Email-Id and subject)',
    arrived,
    'not there after 30 s',
  );
}

process.exit(failed ? 1 : 0);
