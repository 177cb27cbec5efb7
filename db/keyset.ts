/**
 * Keyset pagination for every `GET` list (API.md "Lists": `limit` + `startingAfter`), ordered on
 * (created_at, id). The cursor row is looked up under the SAME scope as the list itself (the
 * caller's client id), so a cursor naming another client's row behaves exactly like an id that does
 * not exist: an empty page. Without the scope the page would start at that row's position and tell
 * the caller the foreign id exists and when it was created.
 *
 * Only constant identifiers are interpolated (table, alias, column, $n placeholders); values always
 * travel as parameters.
 */
export interface KeysetCursor {
  /** The list's table and the alias its query uses for it. */
  table: string;
  alias: string;
  /** Placeholder of the cursor id, e.g. '$3'. */
  cursor: string;
  /** The list's scope: the owner column and the placeholder of the caller's id (NULL = unscoped). */
  scope?: { column: string; param: string } | undefined;
  order: 'asc' | 'desc';
}

/** The WHERE predicate "after the cursor row, visible under the scope" (true when no cursor). */
export function afterCursor(c: KeysetCursor): string {
  const cmp = c.order === 'desc' ? '<' : '>';
  const scope = c.scope
    ? ` AND (${c.scope.param}::text IS NULL OR k.${c.scope.column} = ${c.scope.param})`
    : '';
  return (
    `(${c.cursor}::text IS NULL OR (${c.alias}.created_at, ${c.alias}.id) ${cmp} ` +
    `(SELECT k.created_at, k.id FROM ${c.table} k WHERE k.id = ${c.cursor}${scope}))`
  );
}
