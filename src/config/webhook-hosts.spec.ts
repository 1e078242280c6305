import { parseHostRule } from './webhook-hosts';

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
