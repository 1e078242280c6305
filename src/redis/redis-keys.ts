/**
 * Every Redis key the service writes besides Bull's own, under the configured prefix. The default prefix is
 * hash-tagged (`{freeface}`) so that every key lands in one Redis Cluster slot, which Lua scripts need.
 */
export class RedisKeys {
  constructor(private readonly prefix: string) {}

  email(id: string): string {
    return `${this.prefix}:email:${id}`;
  }
}
