import { describe, expect, it } from 'vitest';
import { startTestServer } from '../../../test/support/server.js';
import { loadServerConfig } from '../config.js';

describe('notifier settings', () => {
  it('reads BERTH_PUBLIC_URL, BERTH_NOTIFIER_INTERVAL_MS and BERTH_ENCRYPTION_KEY, and says which one is wrong', () => {
    const config = loadServerConfig(
      {},
      { BERTH_DATA_DIR: '/tmp/x', BERTH_PUBLIC_URL: 'https://berth.example.com', BERTH_NOTIFIER_INTERVAL_MS: '250', BERTH_ENCRYPTION_KEY: 'ab'.repeat(32) },
    );
    expect(config).toMatchObject({ publicUrl: 'https://berth.example.com', notifierIntervalMs: 250, encryptionKey: 'ab'.repeat(32) });
    expect(() => loadServerConfig({}, { BERTH_DATA_DIR: '/tmp/x', BERTH_PUBLIC_URL: 'berth.example.com' })).toThrow(
      /publicUrl \(BERTH_PUBLIC_URL\): must be an http:\/\/ or https:\/\/ URL/,
    );
  });

  it('refuses to start with an encryption key that is not 32 bytes, and never echoes it', async () => {
    const started = startTestServer({ encryptionKey: 'my-secret-passphrase' });
    await expect(started).rejects.toThrow(/BERTH_ENCRYPTION_KEY must be 32 random bytes/);
    await started.catch((error: Error) => expect(error.message).not.toContain('my-secret-passphrase'));
  });
});
