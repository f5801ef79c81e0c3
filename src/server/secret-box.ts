import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Encryption of the delivery secrets a user gives inline (`{value: "…"}`): AES-256-GCM with a
 * random 96-bit IV per value, stored as `v1:<key id>:<iv>:<tag>:<ciphertext>` (base64url parts).
 * The key id (first 8 hex digits of SHA-256 of the key) lets a server that holds another key say
 * so instead of failing obscurely.
 *
 * The key is `BERTH_ENCRYPTION_KEY` (32 bytes as 64 hex digits or base64), else a key file
 * generated once in the data directory with mode 0600. Several servers sharing one PostgreSQL
 * database must share the key: set `BERTH_ENCRYPTION_KEY` on each.
 */
export interface SecretBox {
  encrypt(plain: string): string;
  /** Throws an Error saying what is wrong (another key, damaged value) — never the value. */
  decrypt(sealed: string): string;
  /** Where the key came from, for logs: `BERTH_ENCRYPTION_KEY` or the key file's path. */
  readonly source: string;
}

export const KEY_FILE_NAME = 'encryption.key';

/** Parses a key given as 64 hex digits or as base64 of 32 bytes; throws with what to fix. */
export function parseEncryptionKey(text: string): Buffer {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  const decoded = Buffer.from(trimmed, 'base64');
  if (decoded.length === 32 && /^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) return decoded;
  throw new Error(
    'BERTH_ENCRYPTION_KEY must be 32 random bytes written as 64 hex digits or as base64 (e.g. the output of `openssl rand -hex 32`)',
  );
}

function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/** A box over a given 32-byte key. */
export function secretBoxFromKey(key: Buffer, source: string): SecretBox {
  if (key.length !== 32) throw new Error('an AES-256 key is 32 bytes');
  const id = keyId(key);
  return {
    source,
    encrypt(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return ['v1', id, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), data.toString('base64url')].join(':');
    },
    decrypt(sealed) {
      const parts = sealed.split(':');
      if (parts.length !== 5 || parts[0] !== 'v1') throw new Error('the stored secret is not in a format this Berth understands');
      if (parts[1] !== id) {
        throw new Error(
          `the stored secret was encrypted with another key (id ${parts[1]}; this server's is ${id}, from ${source}); give every server the same BERTH_ENCRYPTION_KEY, or set the secret again`,
        );
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(parts[2]!, 'base64url'));
        decipher.setAuthTag(Buffer.from(parts[3]!, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(parts[4]!, 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        throw new Error('the stored secret could not be decrypted (damaged); set it again');
      }
    },
  };
}

/**
 * The server's box: from `envKey` (BERTH_ENCRYPTION_KEY) when given, else from
 * `<dataDir>/encryption.key`, created with mode 0600 on first use.
 */
export function openSecretBox(options: { dataDir: string; envKey?: string | undefined }): SecretBox {
  if (options.envKey) return secretBoxFromKey(parseEncryptionKey(options.envKey), 'BERTH_ENCRYPTION_KEY');
  const file = path.join(options.dataDir, KEY_FILE_NAME);
  fs.mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  try {
    // `wx`: never overwrite a key another process wrote first.
    fs.writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as { code?: string }).code !== 'EEXIST') throw error;
  }
  const mode = fs.statSync(file).mode & 0o777;
  if (mode & 0o077) fs.chmodSync(file, 0o600);
  return secretBoxFromKey(parseEncryptionKey(fs.readFileSync(file, 'utf8')), file);
}
