import type Redis from 'ioredis';
import type { Socket } from 'node:net';

/**
 * Makes the commands a connection sends during one turn of the event loop leave in one socket write.
 *
 * Accepting an email sends three script calls to Redis (the request limits, the record, Bull's job), and with
 * many requests in flight each went out in a system call of its own: 9 % of the API's CPU in a profile, most
 * of it the kernel's loopback path (docs/BENCHMARKS.md). Corking the socket at the first write of a turn and
 * uncorking it in `setImmediate` (after the poll phase that delivered the turn's requests) hands Node's
 * `writev` everything the turn wrote, in order.
 *
 * ioredis's own `enableAutoPipelining` does the batching too, but keeps only one pipeline in flight (later
 * commands wait for the whole previous batch's replies) and sends MULTI and explicit pipelines around the
 * batch, out of order with the commands queued in it; commands here keep their order and never wait.
 */
export function coalesceWrites(connection: Redis): void {
  // ioredis opens a new socket on every reconnect.
  connection.on('connect', () => corkPerTurn(connection.stream));
}

function corkPerTurn(socket: Socket): void {
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  socket.write = (...args: unknown[]) => {
    if (!corked) {
      corked = true;
      socket.cork();
      setImmediate(uncork);
    }
    return write(...args);
  };
}
