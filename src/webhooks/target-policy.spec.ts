import { parseHostRule, TargetPolicy } from './target-policy';

const policy = (allowedHosts: string[], options: { emptyAllowsAny?: boolean; requireHttps?: boolean } = {}) =>
  new TargetPolicy({ allowedHosts, emptyAllowsAny: false, requireHttps: true, ...options });

describe('TargetPolicy', () => {
  it('allows listed names and *.suffix hosts (not the bare suffix), over https', () => {
    const p = policy(['hooks.example.com', '*.corp.example']);
    expect(p.checkUrl('https://hooks.example.com/freeface')).toBeUndefined();
    expect(p.checkUrl('https://HOOKS.example.com:8443/x')).toBeUndefined();
    expect(p.checkUrl('https://a.b.corp.example/x')).toBeUndefined();
    expect(p.checkUrl('https://corp.example/x')).toMatch(/not in WEBHOOK_ALLOWED_HOSTS/);
    expect(p.checkUrl('https://evil-corp.example/x')).toMatch(/not in WEBHOOK_ALLOWED_HOSTS/);
    expect(p.checkUrl('https://hooks.example.com.evil.io/x')).toMatch(/not in WEBHOOK_ALLOWED_HOSTS/);
  });

  it('refuses http in production, other schemes, credentials and junk', () => {
    const p = policy(['hooks.example.com']);
    expect(p.checkUrl('http://hooks.example.com/x')).toBe('must be https in production');
    expect(policy(['hooks.example.com'], { requireHttps: false }).checkUrl('http://hooks.example.com/')).toBe(
      undefined,
    );
    expect(p.checkUrl('ftp://hooks.example.com/x')).toMatch(/http\(s\)/);
    expect(p.checkUrl('file:///etc/passwd')).toMatch(/http\(s\)/);
    expect(p.checkUrl('https://user:pw@hooks.example.com/')).toMatch(/user name or password/);
    expect(p.checkUrl('hooks.example.com/x')).toMatch(/absolute URL/);
  });

  it('checks IP literals and resolved addresses against CIDRs', () => {
    const p = policy(['10.1.0.0/16', '2001:db8::/32', '192.0.2.7']);
    expect(p.checkUrl('https://10.1.2.3/x')).toBeUndefined();
    expect(p.checkUrl('https://[2001:db8::1]/x')).toBeUndefined();
    expect(p.checkUrl('https://192.0.2.7/x')).toBeUndefined();
    expect(p.checkUrl('https://10.2.0.1/x')).toMatch(/not in WEBHOOK_ALLOWED_HOSTS/);
    // A name may resolve into an allowed network: it is judged when the connection is made.
    expect(p.checkUrl('https://hooks.internal/x')).toBeUndefined();
    expect(p.checkAddress('hooks.internal', '10.1.9.9')).toBeUndefined();
    expect(p.checkAddress('hooks.internal', '10.9.9.9')).toMatch(/not in WEBHOOK_ALLOWED_HOSTS/);
  });

  it('always refuses link-local and metadata addresses, in every spelling, even when any host is allowed', () => {
    const any = policy([], { emptyAllowsAny: true, requireHttps: false });
    expect(any.checkUrl('http://anything.example/x')).toBeUndefined();
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'http://[::ffff:169.254.169.254]/',
      'http://0xa9fea9fe/',
      'http://2852039166/',
      'http://[fe80::1]/',
      'http://[fd00:ec2::254]/',
    ])
      expect(any.checkUrl(url)).toMatch(/link-local or cloud metadata/);
    // A name that resolves there (DNS rebinding) is caught at connection time, even when allowed by name.
    const named = policy(['hooks.example.com']);
    expect(named.checkAddress('hooks.example.com', '169.254.169.254')).toMatch(/link-local/);
    expect(named.checkAddress('hooks.example.com', '10.0.0.1')).toBeUndefined();
  });

  it('lets nothing through with an empty list in production', () => {
    const p = policy([]);
    expect(p.checkUrl('https://hooks.example.com/')).toMatch(/not in WEBHOOK_ALLOWED_HOSTS/);
    expect(p.checkAddress('x', '10.0.0.1')).toMatch(/not in WEBHOOK_ALLOWED_HOSTS/);
  });
});

describe('parseHostRule', () => {
  it('reads names, suffixes, addresses and CIDRs, and says what is wrong', () => {
    expect(parseHostRule(' Hooks.Example.com ')).toEqual({ kind: 'name', name: 'hooks.example.com' });
    expect(parseHostRule('*.example.com')).toEqual({ kind: 'suffix', suffix: '.example.com' });
    expect(parseHostRule('10.0.0.0/8')).toEqual({ kind: 'network', address: '10.0.0.0', prefix: 8 });
    expect(parseHostRule('::1')).toEqual({ kind: 'network', address: '::1', prefix: 128 });
    expect(parseHostRule('10.0.0.0/33')).toMatch(/not a CIDR/);
    expect(parseHostRule('10.0.0.0/x')).toMatch(/not a CIDR/);
    expect(parseHostRule('*')).toMatch(/not a host name/);
    expect(parseHostRule('http://x')).toMatch(/not a host name/);
  });
});
