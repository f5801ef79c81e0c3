import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultDataDir, loadServerConfig } from './config.js';

describe('server settings', () => {
  it('has defaults that keep the server private', () => {
    const c = loadServerConfig({}, { HOME: '/home/ada' });
    expect(c).toMatchObject({ host: '127.0.0.1', port: 7878, localExecutor: true, localOnly: false });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reads BERTH_* variables, and flags win over them', () => {
    const c = loadServerConfig({ port: 9000 }, { BERTH_PORT: '8000', BERTH_DATA_DIR: 'rel/dir', BERTH_LOCAL_EXECUTOR: 'off' });
    expect(c.port).toBe(9000);
    expect(c.dataDir).toBe(path.resolve('rel/dir'));
    expect(c.localExecutor).toBe(false);
  });

  it('names the variable of a bad setting', () => {
    expect(() => loadServerConfig({}, { BERTH_PORT: 'eighty' })).toThrow(/port \(BERTH_PORT\)/);
    expect(() => loadServerConfig({}, { BERTH_DATABASE_URL: 'mysql://x' })).toThrow(/databaseUrl \(BERTH_DATABASE_URL\): must start with postgres/);
    expect(() => loadServerConfig({}, { BERTH_ADMIN_API_KEY: 'short' })).toThrow(/at least 20 characters/);
    // Numbers say the range to give, whether the text is not a number or out of range.
    for (const bad of ['abc', '0', '300', '2.5']) {
      expect(() => loadServerConfig({}, { BERTH_LOCAL_RUNNER_BATCH_SIZE: bad })).toThrow(
        /localRunnerBatchSize \(BERTH_LOCAL_RUNNER_BATCH_SIZE\): must be a whole number from 1 to 256/,
      );
    }
    expect(loadServerConfig({}, { BERTH_LOCAL_RUNNER_BATCH_SIZE: '4' }).localRunnerBatchSize).toBe(4);
    expect(loadServerConfig({}, {}).localRunnerBatchSize).toBe(16);
  });

  it('refuses local-only mode on a non-loopback address', () => {
    expect(() => loadServerConfig({ localOnly: true, host: '0.0.0.0' }, {})).toThrow(/local-only mode/);
    expect(loadServerConfig({ localOnly: true }, {}).localOnly).toBe(true);
  });

  it('finds the data directory the XDG way', () => {
    expect(defaultDataDir({ BERTH_DATA_DIR: '/srv/berth' })).toBe('/srv/berth');
    expect(defaultDataDir({ XDG_DATA_HOME: '/x' })).toBe('/x/berth');
  });
});
