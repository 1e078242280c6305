import { element } from './elements.js';
import { formatNumber, formatTime, NOT_KNOWN, recipients } from './format.js';
import type { DeadLetterData, ProviderData, ServiceData } from './overview-data.js';

const REDIS_UNAVAILABLE = 'Unknown while Redis is unavailable.';

const emptyRow = (columns: number, text: string) =>
  element('tr', { class: 'empty' }, [element('td', { colspan: columns, text })]);

const numberCell = (value: unknown) => element('td', { class: 'num', text: formatNumber(value) });

/** The Providers table's rows: circuit and rate limit per provider; null while Redis is unavailable. */
export function providerRows(
  providers: Readonly<Partial<Record<string, ProviderData>>> | null,
): HTMLTableRowElement[] {
  if (!providers) return [emptyRow(5, REDIS_UNAVAILABLE)];
  const entries = Object.entries(providers).filter(
    (entry): entry is [string, ProviderData] => entry[1] !== undefined,
  );
  if (entries.length === 0) return [emptyRow(5, 'No provider is configured.')];
  return entries.map(([name, provider]) => {
    const { circuit, rateLimit } = provider;
    return element('tr', {}, [
      element('td', {}, [
        element('strong', { text: name }),
        provider.inChain ? null : ' ',
        provider.inChain ? null : element('span', { class: 'tag', text: 'pinned only' }),
      ]),
      element('td', {}, [
        element('span', { class: 'pill', 'data-state': circuit.state, text: circuit.state }),
        circuit.openUntil ? ' ' : null,
        circuit.openUntil ? element('small', { text: `until ${formatTime(circuit.openUntil)}` }) : null,
      ]),
      numberCell(circuit.consecutiveFailures),
      element('td', { text: rateLimit ? `${rateLimit.limit}, burst ${rateLimit.burst}` : 'unlimited' }),
      numberCell(rateLimit?.tokens),
    ]);
  });
}

/** The Services table's rows: each calling service's counters; null while Redis is unavailable. */
export function serviceRows(services: Readonly<Record<string, ServiceData>> | null): HTMLTableRowElement[] {
  if (!services) return [emptyRow(7, REDIS_UNAVAILABLE)];
  const entries = Object.entries(services);
  if (entries.length === 0) return [emptyRow(7, 'No calls yet.')];
  return entries.map(([name, service]) =>
    element('tr', {}, [
      element('td', {}, [element('strong', { text: name })]),
      numberCell(service.calls),
      numberCell(service.emailsAccepted),
      numberCell(service.emailsSent),
      numberCell(service.emailsFailed),
      numberCell(service.emailsDead),
      element('td', { text: formatTime(service.lastCallAt) }),
    ]),
  );
}

/** The Dead letters table's rows, each with its Retry button; null while Redis is unavailable. */
export function deadLetterRows(items: readonly DeadLetterData[] | null): HTMLTableRowElement[] {
  if (!items) return [emptyRow(7, REDIS_UNAVAILABLE)];
  if (items.length === 0) return [emptyRow(7, 'No dead letters: every email is delivered or on its way.')];
  return items.map((letter) =>
    element('tr', { 'data-id': letter.id }, [
      element('td', {}, [element('code', { title: letter.id, text: `${letter.id.slice(0, 8)}…` })]),
      element('td', { text: letter.service }),
      element('td', { class: 'subject' }, [
        letter.subject,
        element('small', { text: recipients(letter.to) }),
      ]),
      element('td', { class: 'error', text: letter.lastError ?? NOT_KNOWN }),
      element('td', { class: 'num', text: `${letter.attempts}/${letter.maxAttempts}` }),
      element('td', { text: formatTime(letter.deadAt) }),
      element('td', {}, [
        element('button', { type: 'button', class: 'retry', 'data-retry': letter.id, text: 'Retry' }),
      ]),
    ]),
  );
}
