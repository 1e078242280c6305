import { ProblemError } from './problem-error';

/**
 * Opaque list cursors: the position after the last item of a page, as `<score>:<id>` in base64url. A
 * position, not an offset, so pages stay stable while items are added or removed.
 */
export function encodeCursor(score: number, id: string): string {
  return Buffer.from(`${score}:${id}`).toString('base64url');
}

/** Ids in cursors: a UUID unless the list is of something else (`idPattern`, one line, no anchors). */
const UUID_ID = /[0-9a-f-]{36}/;

export function decodeCursor(
  cursor: string | undefined,
  idPattern: RegExp = UUID_ID,
): { score: number; id: string } | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = new RegExp(`^(\\d+):(${idPattern.source})$`).exec(text);
  if (!match)
    throw new ProblemError(400, 'validation-error', 'cursor is not one this API gave out', {
      errors: [{ field: 'cursor', message: 'must be a nextCursor from a previous page' }],
    });
  return { score: Number(match[1]), id: match[2]! };
}

/** The `nextCursor` of a page that ends before `next` (a position), or null after the last page. */
export const nextCursorOf = (next: { score: number; id: string } | undefined): string | null =>
  next ? encodeCursor(next.score, next.id) : null;
