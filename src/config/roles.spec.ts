import { parseRoles, RoleError } from './roles';

const ALL = ['api', 'worker', 'monitor', 'smtp'];
const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => [...parseRoles(argv, env)].sort();

describe('parseRoles', () => {
  it('plays every role when nothing is set', () => {
    expect(parse(['node', 'main.js'])).toEqual([...ALL].sort());
  });

  it('plays every role for all', () => {
    expect(parse([], { APP_ROLE: 'all' })).toEqual([...ALL].sort());
  });

  it('reads --role=<x>', () => {
    expect(parse(['node', 'main.js', '--role=worker'])).toEqual(['worker']);
  });

  it('reads --role <x> as two arguments', () => {
    expect(parse(['node', 'main.js', '--role', 'monitor'])).toEqual(['monitor']);
  });

  it('reads APP_ROLE when there is no --role argument', () => {
    expect(parse(['node', 'main.js'], { APP_ROLE: 'api' })).toEqual(['api']);
  });

  it('lets the command line win over APP_ROLE', () => {
    expect(parse(['node', 'main.js', '--role=worker'], { APP_ROLE: 'api' })).toEqual(['worker']);
  });

  it('falls back to APP_ROLE when --role is the last argument and has no value', () => {
    expect(parse(['node', 'main.js', '--role'], { APP_ROLE: 'monitor' })).toEqual(['monitor']);
  });

  it('treats a blank APP_ROLE as unset', () => {
    expect(parse([], { APP_ROLE: '   ' })).toEqual([...ALL].sort());
  });

  it('combines a comma list, ignoring spaces, case and empty entries', () => {
    expect(parse([], { APP_ROLE: ' API , worker,, ' })).toEqual(['api', 'worker']);
    expect(parse(['--role=api,monitor'])).toEqual(['api', 'monitor']);
  });

  it('counts a repeated role once', () => {
    expect([...parseRoles(['--role=api,api'], {})]).toEqual(['api']);
  });

  it('accepts all inside a comma list', () => {
    expect(parse([], { APP_ROLE: 'api,all' })).toEqual([...ALL].sort());
  });

  it('refuses an unknown role, naming it and the accepted ones', () => {
    expect(() => parseRoles(['--role=api,wrker'], {})).toThrow(RoleError);
    expect(() => parseRoles(['--role=api,wrker'], {})).toThrow(
      'APP_ROLE: unknown role "wrker"; expected all or a comma list of api, worker, monitor, smtp',
    );
  });

  it('refuses an unknown role given through APP_ROLE', () => {
    expect(() => parseRoles([], { APP_ROLE: 'web' })).toThrow(
      'APP_ROLE: unknown role "web"; expected all or a comma list of api, worker, monitor, smtp',
    );
  });

  it('refuses --role= with no role in it', () => {
    expect(() => parseRoles(['--role='], { APP_ROLE: 'api' })).toThrow(
      new RoleError('APP_ROLE: must name at least one role'),
    );
    expect(() => parseRoles(['--role=,'], {})).toThrow('APP_ROLE: must name at least one role');
  });
});
