import pg from 'pg';
import type { Row, SqlDriver, SqlExecutor, SqlValue } from '../sql-driver.js';

export interface PostgresDriverOptions {
  /** `postgres://user@host:port/database`. */
  connectionString: string;
  /** Schema to use (created if missing). (Default: `public`) */
  schema?: string;
  /** Pool size. (Default: 10) */
  maxConnections?: number;
}

/** Rewrites `?` placeholders as `$1, $2, …`. The store's SQL never has `?` inside literals. */
export function toPositional(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/** Integers the store keeps in BIGINT columns are epoch milliseconds and counts: safe as numbers. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
};

const RETRYABLE = new Set(['40001', '40P01']);

/** PostgreSQL through node-postgres. Retries a transaction on serialisation failure or deadlock. */
export class PostgresDriver implements SqlDriver {
  readonly dialect = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly ready: Promise<void>;

  constructor(options: PostgresDriverOptions) {
    const schema = options.schema ?? 'public';
    if (!/^[a-z_][a-z0-9_]*$/.test(schema)) {
      throw new Error(`Invalid PostgreSQL schema name "${schema}": use lower-case letters, digits and "_".`);
    }
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 10,
      types,
      options: `-c search_path=${schema}`,
    });
    // An idle client losing its connection must not crash the server; the pool replaces it.
    this.pool.on('error', () => undefined);
    this.ready =
      schema === 'public'
        ? Promise.resolve()
        : this.pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`).then(() => undefined);
  }

  async query<T = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    await this.ready;
    const result = await this.pool.query(toPositional(sql), params as SqlValue[]);
    return result.rows as T[];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    await this.ready;
    const result = await this.pool.query(toPositional(sql), params as SqlValue[]);
    return result.rowCount ?? 0;
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    await this.ready;
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      const tx: SqlExecutor = {
        dialect: 'postgres',
        query: async <R>(sql: string, params: readonly SqlValue[] = []) =>
          (await client.query(toPositional(sql), params as SqlValue[])).rows as R[],
        run: async (sql: string, params: readonly SqlValue[] = []) =>
          (await client.query(toPositional(sql), params as SqlValue[])).rowCount ?? 0,
      };
      try {
        await client.query('BEGIN');
        const result = await fn(tx);
        await client.query('COMMIT');
        client.release();
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        client.release();
        const code = (error as { code?: string }).code;
        if (code !== undefined && RETRYABLE.has(code) && attempt < 5) continue;
        throw error;
      }
    }
  }

  async close(): Promise<void> {
    await this.ready.catch(() => undefined);
    await this.pool.end();
  }
}
