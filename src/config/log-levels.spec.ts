import 'reflect-metadata';
import {
  defaultLogLevel,
  isLogLevel,
  levelsFromDocument,
  levelValue,
  mostVerbose,
  parseLogLevels,
} from './log-levels';

const EXPECTED = 'trace, debug, info, warn, error, fatal, silent';

describe('isLogLevel', () => {
  it('knows the pino levels and silent', () => {
    expect(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].every(isLogLevel)).toBe(true);
  });

  it('refuses other values, upper case and non-strings', () => {
    expect(isLogLevel('verbose')).toBe(false);
    expect(isLogLevel('DEBUG')).toBe(false);
    expect(isLogLevel(20)).toBe(false);
    expect(isLogLevel(undefined)).toBe(false);
  });
});

describe('levelValue', () => {
  it('uses pino numbers, with silent above everything', () => {
    expect(['trace', 'debug', 'info', 'warn', 'error', 'fatal'].map((l) => levelValue(l as never))).toEqual([
      10, 20, 30, 40, 50, 60,
    ]);
    expect(levelValue('silent')).toBe(Infinity);
  });
});

describe('defaultLogLevel', () => {
  it('is debug in development and info in staging and production', () => {
    expect(defaultLogLevel('development')).toBe('debug');
    expect(defaultLogLevel('staging')).toBe('info');
    expect(defaultLogLevel('production')).toBe('info');
  });
});

describe('parseLogLevels', () => {
  it('reads name=level pairs', () => {
    const errors: string[] = [];
    expect(parseLogLevels('smtp=debug,templates=trace', 'LOG_LEVELS', errors)).toEqual({
      smtp: 'debug',
      templates: 'trace',
    });
    expect(errors).toEqual([]);
  });

  it('lower-cases names and levels and ignores spaces and empty entries', () => {
    const errors: string[] = [];
    expect(parseLogLevels(' SMTP = DEBUG ,, http=warn, ', 'LOG_LEVELS', errors)).toEqual({
      smtp: 'debug',
      http: 'warn',
    });
    expect(errors).toEqual([]);
  });

  it('lets a later entry for the same logger win', () => {
    expect(parseLogLevels('smtp=debug,smtp=error', 'LOG_LEVELS', [])).toEqual({ smtp: 'error' });
  });

  it('reports each bad entry under the given variable and keeps the good ones', () => {
    const errors: string[] = [];
    expect(parseLogLevels('smtp=loud,http,=info,a=debug=junk,redis=warn', 'LOG_LEVELS', errors)).toEqual({
      redis: 'warn',
    });
    expect(errors).toEqual([
      `LOG_LEVELS: "smtp=loud" must look like name=level with level one of ${EXPECTED}`,
      `LOG_LEVELS: "http" must look like name=level with level one of ${EXPECTED}`,
      `LOG_LEVELS: "=info" must look like name=level with level one of ${EXPECTED}`,
      `LOG_LEVELS: "a=debug=junk" must look like name=level with level one of ${EXPECTED}`,
    ]);
  });

  it('returns nothing for an empty text', () => {
    const errors: string[] = [];
    expect(parseLogLevels('', 'LOG_LEVELS', errors)).toEqual({});
    expect(errors).toEqual([]);
  });
});

describe('levelsFromDocument', () => {
  it('reads the levels map, lower-casing logger names', () => {
    const errors: string[] = [];
    expect(levelsFromDocument({ levels: { SMTP: 'debug', http: 'warn' } }, 'file', errors)).toEqual({
      smtp: 'debug',
      http: 'warn',
    });
    expect(errors).toEqual([]);
  });

  it('treats an empty document or a document without levels as no levels', () => {
    const errors: string[] = [];
    expect(levelsFromDocument(null, 'file', errors)).toEqual({});
    expect(levelsFromDocument(undefined, 'file', errors)).toEqual({});
    expect(levelsFromDocument({ other: true }, 'file', errors)).toEqual({});
    expect(levelsFromDocument({ levels: null }, 'file', errors)).toEqual({});
    expect(errors).toEqual([]);
  });

  it('refuses levels that are a list or a scalar', () => {
    const errors: string[] = [];
    expect(levelsFromDocument({ levels: ['smtp'] }, 'LOG_CONFIG (x.yaml)', errors)).toEqual({});
    expect(levelsFromDocument({ levels: 'debug' }, 'LOG_CONFIG (x.yaml)', errors)).toEqual({});
    expect(errors).toEqual([
      'LOG_CONFIG (x.yaml): "levels" must be a map of logger name to level',
      'LOG_CONFIG (x.yaml): "levels" must be a map of logger name to level',
    ]);
  });

  it('names each logger whose level is not valid and keeps the others', () => {
    const errors: string[] = [];
    expect(levelsFromDocument({ levels: { smtp: 'loud', http: 'info', redis: 3 } }, 'src', errors)).toEqual({
      http: 'info',
    });
    expect(errors).toEqual([
      `src: level of "smtp" must be one of ${EXPECTED}`,
      `src: level of "redis" must be one of ${EXPECTED}`,
    ]);
  });
});

describe('mostVerbose', () => {
  it('picks the lowest level', () => {
    expect(mostVerbose(['info', 'trace', 'warn'])).toBe('trace');
    expect(mostVerbose(['error', 'warn'])).toBe('warn');
  });

  it('is silent for no levels', () => {
    expect(mostVerbose([])).toBe('silent');
  });
});
