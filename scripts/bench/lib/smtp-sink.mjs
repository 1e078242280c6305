// The counting SMTP sink (scripts/bench/smtp-sink.mjs) as a child process, and its control calls.
import { join } from 'node:path';
import { answersOk, freePort, startProcess } from './processes.mjs';

export async function startSmtpSink({ root }) {
  const [smtpPort, controlPort] = [await freePort(), await freePort()];
  const control = `http://127.0.0.1:${controlPort}`;
  const sink = await startProcess({
    name: 'SMTP sink',
    command: process.execPath,
    args: [join(root, 'scripts', 'bench', 'smtp-sink.mjs')],
    cwd: root,
    env: { SMTP_PORT: String(smtpPort), CONTROL_PORT: String(controlPort) },
    ready: () => answersOk(`${control}/stats`),
  });
  const call = async (path, init) => {
    const response = await fetch(`${control}${path}`, init);
    if (!response.ok) throw new Error(`SMTP sink ${path} answered ${response.status}`);
    return response.json();
  };
  return {
    pid: sink.pid,
    host: '127.0.0.1',
    port: smtpPort,
    /** Starts a round: expects `<tag>-0` … `<tag>-<expected - 1>`, answers each DATA after `delayMs`. */
    reset: ({ tag, expected, delayMs = 0 }) =>
      call('/reset', { method: 'POST', body: JSON.stringify({ tag, expected, delayMs }) }),
    /** { expected, received, distinct, duplicates, unknown, complete, firstAt, lastAt, arrivals? } */
    stats: ({ arrivals = false } = {}) => call(`/stats${arrivals ? '?arrivals=1' : ''}`),
    /** Resolves with the stats as soon as every expected message came, or after `timeoutMs` regardless. */
    waitForAll: (timeoutMs) => call(`/wait?timeoutMs=${Math.round(timeoutMs)}`),
    stop: () => sink.stop(),
  };
}
