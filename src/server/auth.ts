import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { scopeAllows } from '../domain/api-key.js';
import type { ApiKeyScope, CreateApiKeyRequest } from '../domain/api-key.js';
import { BerthError } from '../domain/errors.js';
import type { ApiKeyRecord } from '../store/store.js';
import type { ServerContext } from './context.js';

/**
 * Who is calling. API keys look like `berth_<8 hex>_<43 base64url>`: the first part (the
 * prefix) is stored to recognise the key in lists; the whole key is stored only as its SHA-256.
 * A key has 256 random bits, so a fast hash is enough: there is nothing to brute-force.
 */
export class Principal {
  constructor(
    readonly scope: ApiKeyScope,
    /** Which key (null in local-only mode without a key). */
    readonly key: ApiKeyRecord | null,
  ) {}

  get label(): string {
    return this.key ? `key ${this.key.prefix} (${this.key.name})` : 'local-only caller';
  }

  /** Throws INSUFFICIENT_SCOPE unless the principal has at least `need`. */
  assertScope(need: ApiKeyScope): void {
    if (!scopeAllows(this.scope, need)) {
      throw new BerthError(
        'INSUFFICIENT_SCOPE',
        `This needs a ${need} key; ${this.label} has scope ${this.scope}.`,
        { required: need, scope: this.scope },
      );
    }
  }

  /**
   * Whether a wrapper with this key may create a passive Task at all (its auto-create): admin
   * and developer keys may, reporter keys only with `may_create_passive_tasks`. Where it may is
   * `assertMayCreatePassiveTaskIn`.
   */
  get mayCreatePassiveTasks(): boolean {
    return this.scope !== 'reporter' || this.key?.may_create_passive_tasks === true;
  }

  /** A reporter key creates passive Tasks only in its own Run Environment. */
  assertMayCreatePassiveTaskIn(env: { uuid: string; name: string }): void {
    if (this.scope === 'reporter' && this.key?.run_environment_uuid && this.key.run_environment_uuid !== env.uuid) {
      throw new BerthError(
        'INSUFFICIENT_SCOPE',
        `${this.label} may only create Tasks in its own Run Environment, not in "${env.name}". Point the wrapper at its key's Run Environment, or use a key made for "${env.name}".`,
        { scope: this.scope },
      );
    }
  }

  /** Reporter keys bound to a Run Environment may only touch executions in it. */
  assertMayReport(runEnvironmentUuid: string): void {
    if (this.scope === 'reporter' && this.key?.run_environment_uuid && this.key.run_environment_uuid !== runEnvironmentUuid) {
      throw new BerthError(
        'INSUFFICIENT_SCOPE',
        `${this.label} may only report executions of its own Run Environment.`,
        { scope: this.scope },
      );
    }
  }
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function generateApiKey(): { key: string; prefix: string } {
  const prefix = `berth_${randomBytes(4).toString('hex')}`;
  return { key: `${prefix}_${randomBytes(32).toString('base64url')}`, prefix };
}

/** The prefix of a key in Berth's format, or a hash-derived one for keys given by the operator. */
function prefixOf(key: string): string {
  const match = /^(berth_[0-9a-f]{8})_/.exec(key);
  return match ? match[1]! : `ext_${hashApiKey(key).slice(0, 8)}`;
}

const CACHE_MS = 5_000;
const TOUCH_EVERY_MS = 60_000;

/** API keys: create, authenticate (with a short cache so status updates stay cheap), revoke. */
export class ApiKeyService {
  private readonly cache = new Map<string, { record: ApiKeyRecord | null; until: number }>();
  private readonly touched = new Map<string, number>();

  constructor(private readonly ctx: ServerContext) {}

  /**
   * Creates a key and returns it with its plain value: the only time the value exists outside the
   * caller's hands. `value` lets an operator choose it (BERTH_ADMIN_API_KEY).
   */
  async create(request: z.input<typeof CreateApiKeyRequest>, value?: string): Promise<{ record: ApiKeyRecord; key: string }> {
    let runEnvironmentUuid: string | null = null;
    if (request.run_environment) {
      const env = await this.ctx.store.getRunEnvironment(request.run_environment);
      if (!env) {
        throw new BerthError('RUN_ENVIRONMENT_NOT_FOUND', `No Run Environment named or with uuid "${request.run_environment}".`);
      }
      runEnvironmentUuid = env.uuid;
    }
    const generated = value ? { key: value, prefix: prefixOf(value) } : generateApiKey();
    const record: ApiKeyRecord = {
      uuid: randomUUID(),
      name: request.name,
      scope: request.scope,
      prefix: generated.prefix,
      key_hash: hashApiKey(generated.key),
      run_environment_uuid: runEnvironmentUuid,
      may_create_passive_tasks: request.may_create_passive_tasks ?? false,
      created_at: this.ctx.clock.now(),
      last_used_at: null,
      revoked_at: null,
    };
    try {
      await this.ctx.store.createApiKey(record);
    } catch (error) {
      const existing = await this.ctx.store.getApiKey(request.name);
      if (existing && existing.name === request.name) {
        throw new BerthError('NAME_TAKEN', `An API key named "${request.name}" exists already; pick another name.`);
      }
      throw error;
    }
    return { record, key: generated.key };
  }

  /** The principal for an `Authorization` header value, or UNAUTHENTICATED. */
  async authenticate(authorization: string | undefined): Promise<Principal> {
    const match = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
    if (!match) {
      throw new BerthError(
        'UNAUTHENTICATED',
        authorization
          ? 'The Authorization header must be "Bearer <api key>".'
          : 'This needs an API key: send "Authorization: Bearer <key>" (the CLI reads BERTH_API_KEY).',
      );
    }
    const hash = hashApiKey(match[1]!);
    const now = this.ctx.clock.now();
    let cached = this.cache.get(hash);
    if (!cached || cached.until < now) {
      cached = { record: await this.ctx.store.findApiKeyByHash(hash), until: now + CACHE_MS };
      this.cache.set(hash, cached);
      if (this.cache.size > 10_000) this.cache.clear();
    }
    const record = cached.record;
    if (!record || record.revoked_at !== null) {
      throw new BerthError('UNAUTHENTICATED', record ? 'This API key was revoked.' : 'Unknown API key.');
    }
    const last = this.touched.get(record.uuid) ?? 0;
    if (now - last > TOUCH_EVERY_MS) {
      this.touched.set(record.uuid, now);
      this.ctx.store.touchApiKey(record.uuid, now).catch((error: unknown) => {
        this.ctx.log.warn('could not record API key use', { error });
      });
    }
    return new Principal(record.scope, record);
  }

  async revoke(uuidOrPrefix: string): Promise<ApiKeyRecord> {
    const record = await this.ctx.store.getApiKey(uuidOrPrefix);
    if (!record) throw new BerthError('API_KEY_NOT_FOUND', `No API key with uuid, prefix or name "${uuidOrPrefix}".`);
    await this.ctx.store.revokeApiKey(record.uuid, this.ctx.clock.now());
    // Revocation takes effect at once on this server and within the cache time on others.
    this.cache.clear();
    return (await this.ctx.store.getApiKey(record.uuid))!;
  }

  /**
   * On the very first start (no keys at all) creates the admin key: the operator's value if
   * given, else a generated one that is returned so the caller can show it once.
   */
  async bootstrap(adminKey: string | undefined): Promise<{ created: boolean; key: string | null }> {
    if ((await this.ctx.store.countApiKeys()) > 0) return { created: false, key: null };
    try {
      const { key } = await this.create({ name: 'admin', scope: 'admin' }, adminKey);
      return { created: true, key: adminKey ? null : key };
    } catch (error) {
      // Another server starting at the same moment created it first.
      if (error instanceof BerthError && error.code === 'NAME_TAKEN') return { created: false, key: null };
      throw error;
    }
  }
}
