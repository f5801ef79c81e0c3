import path from 'node:path';
import { migrate } from './migrations.js';
import { PostgresDriver } from './postgres/postgres-driver.js';
import { SqliteDriver } from './sqlite/sqlite-driver.js';
import type { SqlDriver } from './sql-driver.js';
import { SqlStore } from './sql-store.js';
import type { Store } from './store.js';

export interface OpenStoreOptions {
  /** `postgres://…` to use PostgreSQL; undefined for the embedded SQLite file. */
  databaseUrl?: string | undefined;
  /** PostgreSQL schema. (Default: `public`) */
  databaseSchema?: string | undefined;
  /** Where the SQLite file lives (`<dataDir>/berth.sqlite`). */
  dataDir: string;
  /** An explicit SQLite file, overriding `dataDir` (tests, `:memory:`). */
  sqliteFile?: string | undefined;
}

export function sqliteFileFor(dataDir: string): string {
  return path.join(dataDir, 'berth.sqlite');
}

/** Opens the configured database and migrates it to the newest schema. */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  let driver: SqlDriver;
  if (options.databaseUrl) {
    driver = new PostgresDriver({ connectionString: options.databaseUrl, schema: options.databaseSchema });
  } else {
    driver = new SqliteDriver(options.sqliteFile ?? sqliteFileFor(options.dataDir));
  }
  try {
    await migrate(driver);
  } catch (error) {
    await driver.close().catch(() => undefined);
    throw error;
  }
  return new SqlStore(driver, driver);
}
