import { describe, it } from 'vitest';
import { storeSuite } from '../store.suite.js';
import { openStore } from '../open-store.js';
import { dropSchema, freshSchemaName, POSTGRES_TEST_URL, postgresAvailable } from '../../../test/support/postgres.js';

// In CI postgresAvailable() throws instead of returning false: the suite never skips there.
if (await postgresAvailable()) {
  storeSuite('PostgreSQL', async () => {
    const schema = freshSchemaName();
    return {
      open: () => openStore({ dataDir: '/nonexistent', databaseUrl: POSTGRES_TEST_URL, databaseSchema: schema }),
      reopen: () => openStore({ dataDir: '/nonexistent', databaseUrl: POSTGRES_TEST_URL, databaseSchema: schema }),
      cleanup: () => dropSchema(schema),
    };
  });
} else {
  describe('Store on PostgreSQL', () => {
    it.skip(`skipped: no PostgreSQL at ${POSTGRES_TEST_URL} (set BERTH_TEST_DATABASE_URL)`, () => undefined);
  });
}
