import { BlockList, isIP } from 'node:net';
import { parseHostRule, type TargetPolicyOptions } from '../config/webhook-hosts';

const familyOf = (address: string): 'ipv4' | 'ipv6' => (isIP(address) === 6 ? 'ipv6' : 'ipv4');
const bare = (hostname: string): string => hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();

/** One CIDR as a BlockList (whose IPv4 rules match the IPv4-mapped IPv6 spelling of an address too). */
function network(cidr: string): { cidr: string; list: BlockList } {
  const [address, prefix] = cidr.split('/') as [string, string];
  const list = new BlockList();
  list.addSubnet(address, Number(prefix), familyOf(address));
  return { cidr, list };
}

/**
 * Addresses no webhook may reach, whatever the allow-list says: link-local (where cloud metadata services
 * answer, 169.254.169.254) and AWS's IPv6 metadata address.
 */
const ALWAYS_REFUSED = ['169.254.0.0/16', 'fe80::/10', 'fd00:ec2::254/128'].map(network);

/**
 * Addresses of the service's own host and networks rather than of the internet: refused in every environment
 * unless an allowed CIDR holds them or the host is allowed by its exact name (an internal receiver the
 * operator chose). The IPv6 forms that carry an IPv4 address (compatible, translated, NAT64) are here too: a
 * kernel or a NAT64 gateway turns them into that IPv4 address.
 */
const INTERNAL = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '::/96',
  '::ffff:0:0:0/96',
  '64:ff9b::/96',
  '64:ff9b:1::/48',
  'fc00::/7',
  'fec0::/10',
].map(network);

const rangeOf = (ranges: typeof INTERNAL, address: string): string | undefined =>
  ranges.find(({ list }) => list.check(address, familyOf(address)))?.cidr;

/**
 * Where webhooks may be sent (the guard against SSRF: a caller must not make the service POST to an internal
 * address). Checked twice: on the URL when a webhook is created and before each delivery, and on every
 * address the host name resolves to as the connection is made, so a name that later resolves elsewhere (DNS
 * rebinding) is caught where it matters.
 */
export class TargetPolicy {
  private readonly names = new Set<string>();
  private readonly suffixes: string[] = [];
  private readonly networks = new BlockList();
  private readonly hasNetworks: boolean;
  private readonly anyHost: boolean;

  constructor(private readonly options: TargetPolicyOptions) {
    let networks = 0;
    for (const entry of options.allowedHosts) {
      const rule = parseHostRule(entry);
      if (typeof rule === 'string') throw new Error(rule);
      if (rule.kind === 'name') this.names.add(rule.name);
      else if (rule.kind === 'suffix') this.suffixes.push(rule.suffix);
      else {
        this.networks.addSubnet(rule.address, rule.prefix, familyOf(rule.address));
        networks++;
      }
    }
    this.hasNetworks = networks > 0;
    this.anyHost = options.allowedHosts.length === 0 && options.emptyAllowsAny;
  }

  /** Why a webhook URL is refused, or undefined when it may be used. */
  checkUrl(text: string): string | undefined {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return 'must be an absolute URL such as https://hooks.example.com/freeface';
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http(s) URL';
    if (url.protocol === 'http:' && this.options.requireHttps) return 'must be https outside development';
    // Credentials in a URL would be shown in listings and logs; the signature is how a receiver knows us.
    if (url.username || url.password) return 'must not carry a user name or password';
    const host = bare(url.hostname);
    if (isIP(host)) return this.checkAddress(host, host);
    if (this.anyHost || this.nameAllowed(host) || this.hasNetworks) return undefined;
    return `host ${host} is not in WEBHOOK_ALLOWED_HOSTS`;
  }

  /**
   * Why connecting to `address` (what `hostname` resolved to) is refused, or undefined. An address in an
   * allowed network may be used; an internal one only when the host is also allowed by its exact name (a
   * `*.suffix` rule admits public addresses only: anyone who can add a name under the suffix could point it
   * inside); a public one when the host is allowed at all.
   */
  checkAddress(hostname: string, address: string): string | undefined {
    if (rangeOf(ALWAYS_REFUSED, address)) return `address ${address} is link-local or cloud metadata`;
    if (this.networks.check(address, familyOf(address))) return undefined;
    const host = bare(hostname);
    const internal = rangeOf(INTERNAL, address);
    if (internal)
      return this.names.has(host)
        ? undefined
        : `address ${address} is internal (${internal}): name its host or network in WEBHOOK_ALLOWED_HOSTS to allow it`;
    if (this.anyHost || this.nameAllowed(host)) return undefined;
    return `address ${address} is not in WEBHOOK_ALLOWED_HOSTS`;
  }

  private nameAllowed(host: string): boolean {
    return this.names.has(host) || this.suffixes.some((suffix) => host.endsWith(suffix));
  }
}
