type Row = Record<string, SqlStorageValue>;

/**
 * Rows of a query, typed by the caller. SQLite in a Durable Object runs in-process and
 * synchronously: statements with no await between them are atomic.
 */
export function rows<T>(sql: SqlStorage, query: string, ...bindings: unknown[]): T[] {
  return sql.exec<Row>(query, ...bindings).toArray() as unknown as T[];
}

export function firstRow<T>(sql: SqlStorage, query: string, ...bindings: unknown[]): T | undefined {
  return rows<T>(sql, query, ...bindings)[0];
}
