import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** Where the PostgreSQL test database is. (Default: postgres://postgres@127.0.0.1:5432/test) */
export const POSTGRES_TEST_URL = process.env.BERTH_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let available: Promise<boolean> | undefined;

/** Whether PostgreSQL answers. In CI (`CI=true`) a missing database is an error, never a skip. */
export function postgresAvailable(): Promise<boolean> {
  available ??= (async () => {
    const client = new pg.Client({ connectionString: POSTGRES_TEST_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch (error) {
      if (process.env.CI === 'true') {
        throw new Error(`PostgreSQL is required in CI but ${POSTGRES_TEST_URL} did not answer: ${String(error)}`);
      }
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return available;
}

/** A fresh schema name for one test file; drop it with `dropSchema`. */
export function freshSchemaName(): string {
  return `berth_test_${randomBytes(6).toString('hex')}`;
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_TEST_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}
