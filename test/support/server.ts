import { loadServerConfig } from '../../src/server/config.js';
import type { ServerConfigInput } from '../../src/server/config.js';
import { BerthServer } from '../../src/server/server.js';
import type { StartOptions } from '../../src/server/server.js';
import { silentLogger } from '../../src/server/logger.js';
import { tempDir } from './temp.js';

export const TEST_ADMIN_KEY = 'berth_test_admin_key_0123456789abcdef';

/**
 * An in-process server on a free port with a fresh data directory and fast loops.
 * `stop()` closes it and removes the directory.
 */
export async function startTestServer(
  overrides: Partial<Record<keyof ServerConfigInput, unknown>> = {},
  options: StartOptions & { keepDir?: boolean } = {},
) {
  const temp = tempDir('berth-server-');
  const config = loadServerConfig(
    {
      port: 0,
      dataDir: temp.dir,
      adminApiKey: TEST_ADMIN_KEY,
      monitorIntervalMs: 100,
      launcherIntervalMs: 100,
      logLevel: 'silent',
      ...overrides,
    },
    {},
  );
  const server = await BerthServer.start(config, { logger: silentLogger, defaultWorkingDirectory: temp.dir, ...options });
  const request = async (method: string, path: string, body?: unknown, key: string | null = TEST_ADMIN_KEY) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as any) : undefined };
  };
  return {
    server,
    dir: temp.dir,
    request,
    stop: async () => {
      await server.close();
      if (!options.keepDir) temp.cleanup();
    },
  };
}
