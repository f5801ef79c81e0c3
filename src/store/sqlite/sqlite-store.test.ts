import { storeSuite } from '../store.suite.js';
import { openStore } from '../open-store.js';
import { tempDir } from '../../../test/support/temp.js';

storeSuite('SQLite (file)', async () => {
  const { dir, cleanup } = tempDir('berth-sqlite-');
  return {
    open: () => openStore({ dataDir: dir }),
    reopen: () => openStore({ dataDir: dir }),
    cleanup: async () => cleanup(),
  };
});
