/**
 * An answer settled before the route's handler ran (an idempotent replay): thrown by a guard, so that the
 * handler does not run, and sent as it is by the exception filter, with its status, headers and JSON body.
 */
export class PreparedResponse extends Error {
  constructor(
    readonly status: number,
    readonly headers: Record<string, string>,
    readonly body: unknown,
  ) {
    super(`prepared response ${status}`);
  }
}
