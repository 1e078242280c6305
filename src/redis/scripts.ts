import { readFileSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from './redis-connections';

/** A value a script takes as an argument. */
export type ScriptArg = string | number | Buffer;

/**
 * A Lua script read from its `.lua` file, its includes in place. Its type parameters say which keys and
 * arguments it takes (in the order its file's header documents) and what it replies.
 */
export interface LuaScript<Keys extends readonly string[], Args extends readonly ScriptArg[], Reply> {
  /** The command ioredis knows it by: its path under the source root, without `.lua` (`emails/cancel-email`). */
  readonly name: string;
  readonly lua: string;
  /** Never set: it carries the types of the keys, arguments and reply to the command functions. */
  readonly types?: { keys: Keys; args: Args; reply: Reply };
}

/** Runs a script with its keys and arguments; one EVALSHA, or EVAL when Redis did not have it yet. */
export type ScriptCommand<Keys extends readonly string[], Args extends readonly ScriptArg[], Reply> = (
  keys: Keys,
  args: Args,
) => Promise<Reply>;

/** Queues a script call in a pipeline or transaction; its reply comes with the others' from `exec()`. */
export type PipelinedScript<Keys extends readonly string[], Args extends readonly ScriptArg[]> = (
  pipeline: ChainableCommander,
  keys: Keys,
  args: Args,
) => ChainableCommander;

/** `src/` (or `dist/` once built): script names are paths under it. */
const SOURCE_ROOT = resolve(__dirname, '..');
/** `--- @include "<path>"`, on a line of its own; the path is relative to the file that includes. */
const INCLUDE = /^--- @include "([^"]+)"[ \t]*$/gm;

const files = new Map<string, string>();
const registered = new WeakMap<RedisClient, Set<string>>();

/**
 * Reads a script (once, when the module that owns it loads) and resolves its includes, as BullMQ does with
 * its `commands/*.lua`: each `--- @include` line is replaced by the file it names, itself resolved, and a
 * file included twice (directly or through another include) is put in once.
 */
export function loadScript<Keys extends readonly string[], Args extends readonly ScriptArg[], Reply>(
  directory: string,
  file: string,
): LuaScript<Keys, Args, Reply> {
  const path = resolve(directory, file);
  return {
    name: relative(SOURCE_ROOT, path)
      .split(sep)
      .join('/')
      .replace(/\.lua$/, ''),
    lua: withIncludes(path, new Set()),
  };
}

/** The script as a function on a connection, registered with ioredis (`defineCommand`) once per connection. */
export function scriptCommand<Keys extends readonly string[], Args extends readonly ScriptArg[], Reply>(
  redis: RedisClient,
  script: LuaScript<Keys, Args, Reply>,
): ScriptCommand<Keys, Args, Reply> {
  register(redis, script);
  const command = (redis as unknown as Record<string, (...keysAndArgs: unknown[]) => Promise<Reply>>)[
    script.name
  ]!.bind(redis);
  return (keys, args) => command(keys.length, ...keys, ...args);
}

/**
 * The script as a call to queue in a pipeline or a transaction of `redis`. It is registered now, since a
 * pipeline knows only the scripts its connection had when it was made.
 */
export function pipelinedScript<Keys extends readonly string[], Args extends readonly ScriptArg[], Reply>(
  redis: RedisClient,
  script: LuaScript<Keys, Args, Reply>,
): PipelinedScript<Keys, Args> {
  register(redis, script);
  return (pipeline, keys, args) =>
    (pipeline as unknown as Record<string, (...keysAndArgs: unknown[]) => ChainableCommander>)[script.name]!(
      keys.length,
      ...keys,
      ...args,
    );
}

function register(
  redis: RedisClient,
  script: LuaScript<readonly string[], readonly ScriptArg[], unknown>,
): void {
  let names = registered.get(redis);
  if (!names) registered.set(redis, (names = new Set()));
  if (names.has(script.name)) return;
  redis.defineCommand(script.name, { lua: script.lua });
  names.add(script.name);
}

function withIncludes(path: string, included: Set<string>): string {
  included.add(path);
  return read(path).replace(INCLUDE, (_line, include: string) => {
    const includePath = resolve(dirname(path), include);
    return included.has(includePath) ? '' : withIncludes(includePath, included);
  });
}

function read(path: string): string {
  let text = files.get(path);
  if (text === undefined) files.set(path, (text = readFileSync(path, 'utf8')));
  return text;
}
