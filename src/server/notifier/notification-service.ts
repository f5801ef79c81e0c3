import { isDeepStrictEqual } from 'node:util';
import { randomUUID } from 'node:crypto';
import { formatIssues } from '../../domain/common.js';
import { BerthError } from '../../domain/errors.js';
import type { ValidationIssue } from '../../domain/errors.js';
import { NotificationProfileSpec } from '../../domain/notification-profile.js';
import type { NotificationProfile } from '../../domain/notification-profile.js';
import type { NotificationContent } from '../../domain/notification-message.js';
import { isUniqueViolation } from '../../store/sql-store.js';
import type { NotificationProfileRecord } from '../../store/notification-store.js';
import type { Store } from '../../store/store.js';
import type { ServerContext } from '../context.js';
import { iso } from '../representations.js';
import type { SecretBox } from '../secret-box.js';
import { comparableSpec, methodView, sealProfile } from './delivery-secrets.js';
import type { Notifier } from './notifier.js';

/** One method's result of `berth notify test`. */
export interface TestResult {
  method: string;
  type: string;
  ok: boolean;
  status: number | null;
  error: string | null;
  duration_ms: number;
}

export interface ProfileChange {
  kind: 'notification_profile';
  name: string;
  action: 'create' | 'update' | 'unchanged';
  fields: { field: string; before: unknown; after: unknown }[];
}

function invalid(code: 'VALIDATION_FAILED' | 'CONFIG_INVALID', issues: ValidationIssue[]): BerthError {
  const first = issues[0];
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return new BerthError(code, `Invalid ${code === 'CONFIG_INVALID' ? 'configuration' : 'request'}: ${first ? `${first.path}: ${first.message}` : 'invalid'}${more}`, {
    issues,
  });
}

/** The API resource of a profile: its fields as written, secrets shown as `{secret_set: true}`. */
export function profileResource(r: NotificationProfileRecord): NotificationProfile {
  return {
    uuid: r.uuid,
    ...r.spec,
    description: r.spec.description ?? null,
    methods: r.spec.methods.map(methodView),
    created_at: iso(r.created_at),
    updated_at: iso(r.updated_at),
  } as NotificationProfile;
}

/**
 * Notification Profiles: create or replace by name (secrets sealed), delete when unused, check
 * the names other objects refer to, and send a test through every method.
 */
export class NotificationService {
  constructor(
    private readonly ctx: ServerContext,
    private readonly box: SecretBox,
    private readonly notifier: Notifier,
  ) {}

  async require(ref: string): Promise<NotificationProfileRecord> {
    const profile = await this.ctx.store.notifications.getProfile(ref);
    if (!profile) {
      throw new BerthError(
        'NOTIFICATION_PROFILE_NOT_FOUND',
        `No Notification Profile named or with uuid "${ref}". List them with \`berth notification-profiles ls\`.`,
      );
    }
    return profile;
  }

  async upsert(input: unknown): Promise<{ record: NotificationProfileRecord; created: boolean }> {
    const parsed = NotificationProfileSpec.safeParse(input);
    if (!parsed.success) throw invalid('VALIDATION_FAILED', formatIssues(parsed.error));
    try {
      return await this.ctx.store.transaction(async (tx) => {
        const before = await tx.notifications.getProfile(parsed.data.name);
        const sealed = sealProfile(parsed.data, before?.spec ?? null, this.box);
        return tx.notifications.upsertProfile(parsed.data.name, sealed, this.ctx.clock.now());
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new BerthError('NAME_TAKEN', `Notification Profile "${parsed.data.name}" was created concurrently; retry.`);
      throw error;
    }
  }

  async delete(ref: string): Promise<void> {
    const profile = await this.require(ref);
    const users = await this.ctx.store.notifications.listProfileUsers(profile.name);
    if (users.length > 0) {
      const list = users.map((u) => `${u.kind.replace('_', ' ')} "${u.name}"`).join(', ');
      throw new BerthError(
        'NOTIFICATION_PROFILE_IN_USE',
        `Notification Profile "${profile.name}" is named by ${list}; remove it from their notification_profiles first.`,
        { users },
      );
    }
    await this.ctx.store.notifications.deleteProfile(profile.uuid);
  }

  /**
   * The berth.yaml `notification_profiles:` inside `apply`'s transaction, before the objects that
   * name them. Returns the changes (secrets never shown: inline values appear as changed).
   */
  async apply(store: Store, specs: readonly NotificationProfileSpec[], dryRun: boolean): Promise<ProfileChange[]> {
    const changes: ProfileChange[] = [];
    const now = this.ctx.clock.now();
    const issues: ValidationIssue[] = [];
    for (const [index, spec] of specs.entries()) {
      const existing = await store.notifications.getProfile(spec.name);
      let sealed;
      try {
        sealed = sealProfile(spec, existing?.spec ?? null, this.box, `notification_profiles[${index}].`);
      } catch (error) {
        if (error instanceof BerthError && Array.isArray(error.details?.issues)) {
          issues.push(...(error.details.issues as ValidationIssue[]));
          continue;
        }
        throw error;
      }
      const before = existing ? comparableSpec(existing.spec) : null;
      const after = comparableSpec(spec, existing ? { spec: existing.spec, box: this.box } : undefined);
      const fields: ProfileChange['fields'] = [];
      for (const field of [...new Set([...Object.keys(before ?? {}), ...Object.keys(after)])].sort()) {
        if (!isDeepStrictEqual(before?.[field], after[field])) fields.push({ field, before: before?.[field] ?? null, after: after[field] ?? null });
      }
      const action = !existing ? 'create' : fields.length ? 'update' : 'unchanged';
      changes.push({ kind: 'notification_profile', name: spec.name, action, fields: action === 'create' ? [] : fields });
      if (!dryRun && action !== 'unchanged') await store.notifications.upsertProfile(spec.name, sealed, now);
    }
    if (issues.length) throw invalid('CONFIG_INVALID', issues);
    return changes;
  }

  /**
   * Issues for names in `notification_profiles` that match no profile (stored, or in
   * `alsoKnown`, the profiles of the same berth.yaml). `path` is the field's path.
   */
  async referenceIssues(store: Store, names: readonly string[] | undefined, path: string, alsoKnown: ReadonlySet<string> = new Set()): Promise<ValidationIssue[]> {
    if (!names || names.length === 0) return [];
    const found = new Set((await store.notifications.getProfilesByName(names)).map((p) => p.name));
    const issues: ValidationIssue[] = [];
    names.forEach((name, i) => {
      if (!found.has(name) && !alsoKnown.has(name)) {
        issues.push({
          path: `${path}[${i}]`,
          message: `no Notification Profile named "${name}"; create it first (notification_profiles in berth.yaml, or POST /api/v1/notification_profiles/)`,
          code: 'custom',
        });
      }
    });
    return issues;
  }

  /** Throws VALIDATION_FAILED when `names` refers to a profile that does not exist. */
  async requireReferences(names: readonly string[] | undefined, path = 'notification_profiles'): Promise<void> {
    const issues = await this.referenceIssues(this.ctx.store, names, path);
    if (issues.length) throw invalid('VALIDATION_FAILED', issues);
  }

  /**
   * `berth notify test`: sends a TEST event through every method of the profile now (no queue,
   * no rate limit, no retry) and says how each went. A failed method is a result, not an error.
   */
  async test(ref: string): Promise<{ profile: { uuid: string; name: string }; ok: boolean; results: TestResult[] }> {
    const profile = await this.require(ref);
    const now = this.ctx.clock.now();
    const eventUuid = randomUUID();
    const results = await Promise.all(
      profile.spec.methods.map(async (method): Promise<TestResult> => {
        const content: NotificationContent = {
          action: 'test',
          event: {
            uuid: eventUuid,
            type: 'TEST',
            severity: 'info',
            message: `This is a test of Notification Profile "${profile.name}", method "${method.name}" (${method.type}), sent by \`berth notify test\`. Nothing is wrong.`,
            created_at: now,
            grouping_key: null,
            details: {},
          },
          task: null,
          task_execution: null,
          workflow: null,
          workflow_execution: null,
          incident: null,
          profile: profile.name,
          method: method.name,
          links: { event: null, execution: null, execution_api: null, subject: null },
        };
        const started = Date.now();
        const result = await this.notifier.send(method, content, randomUUID(), now);
        return { method: method.name, type: method.type, ok: result.ok, status: result.status, error: result.error, duration_ms: Date.now() - started };
      }),
    );
    this.ctx.log.info('notification profile tested', { profile: profile.name, ok: results.filter((r) => r.ok).length, failed: results.filter((r) => !r.ok).length });
    return { profile: { uuid: profile.uuid, name: profile.name }, ok: results.every((r) => r.ok), results };
  }
}
