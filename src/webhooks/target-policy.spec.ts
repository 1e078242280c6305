import { TargetPolicy } from './target-policy';

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

  it('refuses http outside development, other schemes, credentials and junk', () => {
    const p = policy(['hooks.example.com']);
    expect(p.checkUrl('http://hooks.example.com/x')).toBe('must be https outside development');
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
    expect(p.checkUrl('https://192.0.2.8/x')).toMatch(/not in WEBHOOK_ALLOWED_HOSTS/);
    expect(p.checkUrl('https://10.2.0.1/x')).toMatch(/internal \(10\.0\.0\.0\/8\)/);
    // A name may resolve into an allowed network: it is judged when the connection is made.
    expect(p.checkUrl('https://hooks.internal/x')).toBeUndefined();
    expect(p.checkAddress('hooks.internal', '10.1.9.9')).toBeUndefined();
    expect(p.checkAddress('hooks.internal', '10.9.9.9')).toMatch(/internal/);
    expect(p.checkAddress('hooks.internal', '203.0.113.9')).toMatch(/not in WEBHOOK_ALLOWED_HOSTS/);
  });

  it.each([
    ['0.0.0.0/8', ['http://0.0.0.0/', 'http://0/', 'http://0.1.2.3/']],
    ['10.0.0.0/8', ['http://10.0.0.1/', 'http://[::ffff:10.0.0.1]/', 'http://167772161/']],
    ['100.64.0.0/10', ['http://100.64.0.1/', 'http://100.127.255.254/']],
    ['127.0.0.0/8', ['http://127.0.0.1/', 'http://127.1/', 'http://0x7f.1/', 'http://017700000001/']],
    ['127.0.0.0/8', ['http://[::ffff:127.0.0.1]/', 'http://[::ffff:7f00:1]/']],
    ['172.16.0.0/12', ['http://172.16.0.1/', 'http://172.31.255.254/']],
    ['192.168.0.0/16', ['http://192.168.1.1/', 'http://[::ffff:c0a8:101]/']],
    ['::/96', ['http://[::1]/', 'http://[::]/', 'http://[0:0:0:0:0:0:0:1]/', 'http://[::127.0.0.1]/']],
    ['::ffff:0:0:0/96', ['http://[::ffff:0:127.0.0.1]/']],
    [
      '64:ff9b::/96',
      ['http://[64:ff9b::a9fe:a9fe]/', 'http://[64:ff9b::7f00:1]/', 'http://[64:ff9b::8.8.8.8]/'],
    ],
    ['64:ff9b:1::/48', ['http://[64:ff9b:1::a00:1]/']],
    ['fc00::/7', ['http://[fc00::1]/', 'http://[fd12:3456::1]/']],
  ])('refuses %s in every spelling, even when any host is allowed', (cidr, urls) => {
    const any = policy([], { emptyAllowsAny: true, requireHttps: false });
    for (const url of urls)
      expect([url, any.checkUrl(url)]).toEqual([url, expect.stringContaining(`(${cidr})`)]);
  });

  it('leaves public addresses to the allow-list', () => {
    const any = policy([], { emptyAllowsAny: true, requireHttps: false });
    for (const url of [
      'http://8.8.8.8/',
      'http://100.63.255.255/',
      'http://172.32.0.1/',
      'http://[2001:4860::1]/',
    ])
      expect(any.checkUrl(url)).toBeUndefined();
  });

  it('allows an internal address held by an allowed CIDR, and no more of its range', () => {
    const p = policy(['127.0.0.1', '10.20.0.0/16', 'fd00:1::/64'], { requireHttps: false });
    expect(p.checkUrl('http://127.0.0.1:8080/hooks')).toBeUndefined();
    expect(p.checkUrl('http://[::ffff:127.0.0.1]/')).toBeUndefined();
    expect(p.checkUrl('http://10.20.3.4/')).toBeUndefined();
    expect(p.checkUrl('http://[fd00:1::5]/')).toBeUndefined();
    expect(p.checkUrl('http://127.0.0.2/')).toMatch(/internal \(127\.0\.0\.0\/8\)/);
    expect(p.checkUrl('http://10.21.0.1/')).toMatch(/internal \(10\.0\.0\.0\/8\)/);
    expect(p.checkUrl('http://[fd00:2::5]/')).toMatch(/internal \(fc00::\/7\)/);
  });

  it('lets a host named exactly resolve inside, but not one admitted by a *.suffix or by development', () => {
    const p = policy(['hooks.corp.example', '*.customers.example']);
    expect(p.checkAddress('hooks.corp.example', '10.0.0.5')).toBeUndefined();
    expect(p.checkAddress('hooks.corp.example', '203.0.113.5')).toBeUndefined();
    expect(p.checkAddress('a.customers.example', '203.0.113.5')).toBeUndefined();
    expect(p.checkAddress('a.customers.example', '127.0.0.1')).toMatch(/internal \(127\.0\.0\.0\/8\)/);
    expect(p.checkAddress('a.customers.example', '::ffff:10.0.0.1')).toMatch(/internal \(10\.0\.0\.0\/8\)/);
    const any = policy([], { emptyAllowsAny: true, requireHttps: false });
    expect(any.checkUrl('http://rebinding.example/')).toBeUndefined();
    expect(any.checkAddress('rebinding.example', '192.168.0.10')).toMatch(/internal/);
    expect(any.checkAddress('rebinding.example', '64:ff9b::a9fe:a9fe')).toMatch(/internal \(64:ff9b::\/96\)/);
  });

  it('judges localhost by what it resolves to: refused unless named', () => {
    const any = policy([], { emptyAllowsAny: true, requireHttps: false });
    expect(any.checkUrl('http://localhost:3000/')).toBeUndefined();
    expect(any.checkAddress('localhost', '127.0.0.1')).toMatch(/internal \(127\.0\.0\.0\/8\)/);
    expect(any.checkAddress('localhost', '::1')).toMatch(/internal \(::\/96\)/);
    const named = policy(['localhost'], { requireHttps: false });
    expect(named.checkUrl('http://localhost:3000/')).toBeUndefined();
    expect(named.checkAddress('localhost', '127.0.0.1')).toBeUndefined();
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
    const named = policy(['hooks.example.com', '169.254.0.0/16']);
    expect(named.checkAddress('hooks.example.com', '169.254.169.254')).toMatch(/link-local/);
    expect(named.checkUrl('https://169.254.169.254/')).toMatch(/link-local/);
    expect(named.checkAddress('hooks.example.com', '10.0.0.1')).toBeUndefined();
  });

  it('lets nothing through with an empty list outside development', () => {
    const p = policy([]);
    expect(p.checkUrl('https://hooks.example.com/')).toMatch(/not in WEBHOOK_ALLOWED_HOSTS/);
    expect(p.checkAddress('x', '203.0.113.1')).toMatch(/not in WEBHOOK_ALLOWED_HOSTS/);
  });
});
