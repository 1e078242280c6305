import { V7Generator } from 'uuidv7';

/** One per process: ids made here increase in the order they are made. */
const generator = new V7Generator();

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, a 42-bit counter that starts at random in each millisecond
 * and counts within it, then 32 random bits. Ids sort by creation time, and those one process makes in the same
 * millisecond (a batch, the deliveries of one event) sort in the order they were made: Redis sorted sets break
 * ties between equal scores by member, so listings and queues keep that order too. A time a little earlier than
 * the previous id's (a request that read the clock before another, a clock stepped back by less than ten
 * seconds) gets the previous id's time, so the order holds; ids are names, not secrets.
 */
export function uuidv7(now: number = Date.now()): string {
  return generator.generateOrResetWithTs(now).toString();
}

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
