import { isIP } from 'node:net';

export interface TargetPolicyOptions {
  /** WEBHOOK_ALLOWED_HOSTS entries: host names, `*.suffix`, IP addresses or CIDRs. */
  allowedHosts: readonly string[];
  /** Empty allow-list: true lets any public host through (development), false none. */
  emptyAllowsAny: boolean;
  requireHttps: boolean;
}

export type HostRule =
  | { kind: 'name'; name: string }
  | { kind: 'suffix'; suffix: string }
  | { kind: 'network'; address: string; prefix: number };

const HOST_NAME =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** One WEBHOOK_ALLOWED_HOSTS entry, or why it is not one. */
export function parseHostRule(entry: string): HostRule | string {
  const text = entry.trim().toLowerCase();
  const [address, prefixText, extra] = text.split('/');
  if (address && isIP(address)) {
    const max = isIP(address) === 6 ? 128 : 32;
    const prefix = prefixText === undefined ? max : Number(prefixText);
    if (extra !== undefined || !/^\d{1,3}$/.test(prefixText ?? String(max)) || prefix > max)
      return `"${entry}" is not a CIDR such as 10.0.0.0/8`;
    return { kind: 'network', address, prefix };
  }
  if (text.startsWith('*.') && HOST_NAME.test(text.slice(2)))
    return { kind: 'suffix', suffix: text.slice(1) };
  if (HOST_NAME.test(text)) return { kind: 'name', name: text };
  return `"${entry}" is not a host name, *.suffix, IP address or CIDR`;
}
