import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, sep } from 'node:path';
import Redis from 'ioredis';
import { PrivateRedis } from '../../test/support/private-redis';
import { loadScript, pipelinedScript, scriptCommand } from './scripts';

const SOURCE_ROOT = join(__dirname, '..');

/** Every `.lua` file under src/: its path there, its absolute path, and whether it is an include (in `includes/`). */
function luaFiles(): { name: string; path: string; isInclude: boolean }[] {
  return readdirSync(SOURCE_ROOT, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.lua'))
    .map((file) => ({
      name: file.split(sep).join('/'),
      path: join(SOURCE_ROOT, file),
      isInclude: file.split(sep).includes('includes'),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Every unit spec's text, to find which scripts they name. */
function specTexts(): string[] {
  return readdirSync(SOURCE_ROOT, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.spec.ts'))
    .map((file) => readFileSync(join(SOURCE_ROOT, file), 'utf8'));
}

const specs = specTexts();
const scripts = luaFiles().filter((file) => !file.isInclude);
const includes = luaFiles().filter((file) => file.isInclude);

describe('Lua scripts (real Redis)', () => {
  let server: PrivateRedis;
  let redis: Redis;

  beforeAll(async () => {
    server = await PrivateRedis.start();
    redis = new Redis(server.url);
  });

  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('finds the scripts and their includes', () => {
    expect(scripts.map((file) => file.name)).toEqual(
      expect.arrayContaining(['delivery/claim-for-delivery.lua', 'emails/write-emails.lua']),
    );
    expect(includes.map((file) => file.name)).toEqual(
      expect.arrayContaining(['redis/lua/includes/redis-now.lua', 'redis/lua/includes/token-bucket.lua']),
    );
  });

  describe.each(scripts)('$name', ({ name, path }) => {
    it('compiles in Redis with its includes in place', async () => {
      const script = loadScript(dirname(path), basename(path));
      expect(script.name).toBe(name.replace(/\.lua$/, ''));
      expect(script.lua).not.toMatch(/^--- @include/m);
      const sha = await redis.script('LOAD', script.lua);
      expect(await redis.script('EXISTS', sha as string)).toEqual([1]);
    });

    it('is loaded by the class that owns it, beside it', () => {
      const owners = readdirSync(dirname(path))
        .filter((file) => file.endsWith('.ts') && !file.endsWith('.spec.ts'))
        .filter((file) => readFileSync(join(dirname(path), file), 'utf8').includes(`'${basename(path)}'`));
      expect(owners).toHaveLength(1);
    });

    it('is named by the spec that runs it', () => {
      expect(specs.some((text) => text.includes(basename(path)))).toBe(true);
    });
  });

  describe.each(includes)('$name', ({ path }) => {
    it('is included by a script', () => {
      const includedBy = scripts.filter(({ path: script }) =>
        readFileSync(script, 'utf8').includes(`/${basename(path)}"`),
      );
      expect(includedBy.length).toBeGreaterThan(0);
    });
  });

  describe('includes', () => {
    let dir: string;

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'freeface-lua-'));
      mkdirSync(join(dir, 'includes'));
      writeFileSync(join(dir, 'includes', 'one.lua'), 'local function one() return 1 end\n');
      writeFileSync(
        join(dir, 'includes', 'two.lua'),
        '--- @include "one.lua"\nlocal function two() return one() + 1 end\n',
      );
      writeFileSync(
        join(dir, 'sum.lua'),
        '--- @include "includes/two.lua"\n--- @include "includes/one.lua"\nreturn one() + two() + tonumber(ARGV[1])\n',
      );
      writeFileSync(join(dir, 'broken.lua'), '--- @include "includes/missing.lua"\nreturn 1\n');
    });

    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('puts each included file in place once, includes of includes too, relative to the file that includes', async () => {
      const script = loadScript<[], [number], number>(dir, 'sum.lua');
      expect(script.lua.match(/local function one/g)).toHaveLength(1);
      expect(script.name).toBe(relative(SOURCE_ROOT, join(dir, 'sum')).split(sep).join('/'));
      expect(await scriptCommand(redis, script)([], [4])).toBe(7);
    });

    it('refuses a script whose include is missing, when its owner loads', () => {
      expect(() => loadScript(dir, 'broken.lua')).toThrow(/missing\.lua/);
    });

    it('defines a script once per connection, however many owners use it, and runs it on each', async () => {
      const script = loadScript<[], [number], number>(dir, 'sum.lua');
      const [first, second] = [new Redis(server.url), new Redis(server.url)];
      const defined = jest.spyOn(first, 'defineCommand');
      try {
        const run = scriptCommand(first, script);
        scriptCommand(first, script);
        const queue = pipelinedScript(first, script);
        expect(defined).toHaveBeenCalledTimes(1);
        expect(await run([], [1])).toBe(4);
        const replies = (await queue(first.pipeline().echo('before'), [], [2]).echo('after').exec()) ?? [];
        expect(replies).toEqual([
          [null, 'before'],
          [null, 5],
          [null, 'after'],
        ]);
        expect(await scriptCommand(second, script)([], [0])).toBe(3);
      } finally {
        first.disconnect();
        second.disconnect();
      }
    });
  });
});

describe('includes/redis-now.lua and includes/token-bucket.lua (real Redis)', () => {
  let server: PrivateRedis;
  let redis: Redis;
  const include = (file: string) => readFileSync(join(__dirname, 'lua', 'includes', file), 'utf8');
  /** Runs `expression` after the token bucket's functions, with ARGV numbers; its value as a string. */
  const bucket = async (expression: string, ...args: number[]) =>
    Number(await redis.eval(`${include('token-bucket.lua')}\nreturn tostring(${expression})`, 0, ...args));

  beforeAll(async () => {
    server = await PrivateRedis.start();
    redis = new Redis(server.url);
  });

  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it("gives Redis's clock in milliseconds", async () => {
    const before = Date.now();
    const now = Number(await redis.eval(`${include('redis-now.lua')}\nreturn tostring(now)`, 0));
    expect(now).toBeGreaterThanOrEqual(before - 1000);
    expect(now).toBeLessThanOrEqual(Date.now() + 1000);
  });

  it('takes a missing bucket for a full one', async () => {
    expect(await bucket('refilledTokens(nil, nil, 1000, 0.01, 3)')).toBe(3);
  });

  it('refills continuously at the rate, up to the burst and no further', async () => {
    // 0 tokens at t=0, 0.01 per ms: 0.4 at t=40, full (3) long after.
    expect(await bucket('refilledTokens(0, 0, 40, 0.01, 3)')).toBeCloseTo(0.4);
    expect(await bucket('refilledTokens(0, 0, 10000, 0.01, 3)')).toBe(3);
    // A clock that went back refills nothing.
    expect(await bucket('refilledTokens(1, 100, 50, 0.01, 3)')).toBe(1);
  });

  it('says how long until the next token and until the bucket is full', async () => {
    expect(await bucket('msUntilToken(0.4, 0.01)')).toBe(60);
    expect(await bucket('msUntilToken(0, 0.001)')).toBe(1000);
    expect(await bucket('msUntilFull(1, 0.01, 3)')).toBe(200);
    expect(await bucket('msUntilFull(3, 0.01, 3)')).toBe(0);
  });
});
