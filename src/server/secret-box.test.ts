import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/temp.js';
import { KEY_FILE_NAME, openSecretBox, parseEncryptionKey, secretBoxFromKey } from './secret-box.js';

describe('secret box', () => {
  it('encrypts with a fresh IV each time and decrypts', () => {
    const box = secretBoxFromKey(Buffer.alloc(32, 7), 'test');
    const a = box.encrypt('hunter2');
    const b = box.encrypt('hunter2');
    expect(a).not.toBe(b);
    expect(a).not.toContain('hunter2');
    expect(a).toMatch(/^v1:[0-9a-f]{8}:/);
    expect(box.decrypt(a)).toBe('hunter2');
  });

  it('says when a value was sealed with another key, or damaged', () => {
    const sealed = secretBoxFromKey(Buffer.alloc(32, 1), 'one').encrypt('x');
    expect(() => secretBoxFromKey(Buffer.alloc(32, 2), 'BERTH_ENCRYPTION_KEY').decrypt(sealed)).toThrow(/encrypted with another key .* BERTH_ENCRYPTION_KEY/);
    const box = secretBoxFromKey(Buffer.alloc(32, 1), 'one');
    const parts = sealed.split(':');
    parts[4] = Buffer.from('tampered').toString('base64url');
    expect(() => box.decrypt(parts.join(':'))).toThrow('could not be decrypted (damaged)');
  });

  it('takes BERTH_ENCRYPTION_KEY as hex or base64, and refuses anything else with what to do', () => {
    expect(parseEncryptionKey('ab'.repeat(32))).toHaveLength(32);
    expect(parseEncryptionKey(Buffer.alloc(32, 9).toString('base64'))).toHaveLength(32);
    expect(() => parseEncryptionKey('too-short')).toThrow(/openssl rand -hex 32/);
  });

  it('generates a key file with mode 0600 once and reuses it', () => {
    const { dir, cleanup } = tempDir('berth-box-');
    try {
      const first = openSecretBox({ dataDir: dir });
      const file = path.join(dir, KEY_FILE_NAME);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      const sealed = first.encrypt('v');
      expect(openSecretBox({ dataDir: dir }).decrypt(sealed)).toBe('v');
      expect(openSecretBox({ dataDir: dir, envKey: 'cd'.repeat(32) }).source).toBe('BERTH_ENCRYPTION_KEY');
    } finally {
      cleanup();
    }
  });
});
