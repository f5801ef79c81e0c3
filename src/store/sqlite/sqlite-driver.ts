import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Row, SqlDriver, SqlExecutor, SqlValue } from '../sql-driver.js';

type Statement = Database.Statement<unknown[], unknown>;

/**
 * SQLite through better-sqlite3 (synchronous, in-process). WAL mode so readers never wait for
 * the writer; `synchronous=NORMAL`, which in WAL mode loses at most the last transactions on a
 * power cut, never corrupts.
 *
 * better-sqlite3 is synchronous but the store is async: while a transaction awaits between its
 * statements, other callers must not slip their statements into it, so transactions hold a
 * mutex that plain statements wait for.
 */
export class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Statement>();
  private lock: Promise<void> = Promise.resolve();
  private locked = false;
  /** Prepared once: `exec` would parse these texts again on every transaction. */
  private readonly begin: Statement;
  private readonly commit: Statement;
  private readonly rollback: Statement;

  constructor(file: string) {
    if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 10000');
    this.begin = this.db.prepare('BEGIN IMMEDIATE');
    this.commit = this.db.prepare('COMMIT');
    this.rollback = this.db.prepare('ROLLBACK');
  }

  private prepare(sql: string): Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  private queryNow<T>(sql: string, params: readonly SqlValue[]): T[] {
    const stmt = this.prepare(sql);
    if (stmt.reader) return stmt.all(...params) as T[];
    stmt.run(...params);
    return [];
  }

  private runNow(sql: string, params: readonly SqlValue[]): number {
    const stmt = this.prepare(sql);
    if (stmt.reader) return stmt.all(...params).length;
    return stmt.run(...params).changes;
  }

  async query<T = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    while (this.locked) await this.lock;
    return this.queryNow<T>(sql, params);
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    while (this.locked) await this.lock;
    return this.runNow(sql, params);
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    while (this.locked) await this.lock;
    let release!: () => void;
    this.lock = new Promise<void>((resolve) => (release = resolve));
    this.locked = true;
    const tx: SqlExecutor = {
      dialect: 'sqlite',
      query: async <R>(sql: string, params: readonly SqlValue[] = []) => this.queryNow<R>(sql, params),
      run: async (sql: string, params: readonly SqlValue[] = []) => this.runNow(sql, params),
    };
    try {
      this.begin.run();
      try {
        const result = await fn(tx);
        this.commit.run();
        return result;
      } catch (error) {
        if (this.db.inTransaction) this.rollback.run();
        throw error;
      }
    } finally {
      this.locked = false;
      release();
    }
  }

  async close(): Promise<void> {
    while (this.locked) await this.lock;
    this.statements.clear();
    this.db.close();
  }
}
