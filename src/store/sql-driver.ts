/**
 * The narrow seam between the store's SQL and a database client. Each backend folder
 * (`sqlite/`, `postgres/`) has one driver implementing it; the store above writes portable SQL
 * with `?` placeholders and asks `dialect` only where the two really differ (row locks).
 */
export type SqlValue = string | number | null;
export type Row = Record<string, unknown>;

export interface SqlExecutor {
  readonly dialect: 'sqlite' | 'postgres';
  /** Runs a statement and returns its rows (for statements with RETURNING, the changed rows). */
  query<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Runs a statement and returns the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

export interface SqlDriver extends SqlExecutor {
  /**
   * Runs `fn` in a transaction that serialises with other writers (SQLite: BEGIN IMMEDIATE;
   * PostgreSQL: READ COMMITTED plus the row locks the store takes). Commits when `fn` resolves,
   * rolls back when it throws.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
