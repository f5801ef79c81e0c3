/**
 * Small conversions shared by the SQL store modules: the same SQL runs on SQLite and PostgreSQL,
 * whose drivers return BIGINT columns as numbers or strings and JSON documents as TEXT.
 */

/** `?, ?, …` for an IN list of `n` values. */
export function placeholders(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}

/** A BIGINT/INTEGER column as a number. */
export function num(value: unknown): number {
  return Number(value);
}

/** A nullable BIGINT/INTEGER column as a number or null. */
export function numOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

/** A nullable JSON TEXT column, parsed; `fallback` when it is NULL. */
export function fromJson<T>(value: unknown, fallback: T): T {
  if (value === null || value === undefined) return fallback;
  return JSON.parse(String(value)) as T;
}
