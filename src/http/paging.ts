/**
 * Keyset paging for admin lists, newest first: the cursor is the last row's (time, id), opaque to
 * clients. Paging by key, not offset, keeps pages stable while rows are added and never needs a row
 * of another tenant to find its place (the cursor carries the values, not a row to look up).
 */
import { z } from 'zod';
import { InvalidRequestError } from '../errors.ts';

/** `limit` (1-100, default 50) and `cursor` query parameters. */
export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().max(200).optional().meta({ description: 'The `next` of the previous page.' }),
});

export interface Cursor {
  at: Date;
  id: string;
}

const cursorShape = z.strictObject({ at: z.iso.datetime(), id: z.string().min(1).max(100) });

/** The position a cursor names; 400 when it is not one of ours. */
export function decodeCursor(cursor: string | undefined): Cursor | undefined {
  if (cursor === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const result = cursorShape.safeParse(parsed);
  if (!result.success) throw new InvalidRequestError('The cursor is not valid.');
  return { at: new Date(result.data.at), id: result.data.id };
}

/** The page and the cursor of the next one (null on the last page); `rows` holds up to limit + 1. */
export function page<T extends { id: string }>(
  rows: T[],
  limit: number,
  timeOf: (row: T) => Date,
): { items: T[]; next: string | null } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  const next =
    rows.length > limit && last
      ? Buffer.from(JSON.stringify({ at: timeOf(last).toISOString(), id: last.id })).toString('base64url')
      : null;
  return { items, next };
}
