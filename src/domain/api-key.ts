import { z } from 'zod';
import { Name, Timestamp, Uuid } from './common.js';

/**
 * Scopes of API keys, from most to least powerful:
 * - `admin`: everything, including API keys.
 * - `developer`: manage Run Environments and Tasks, start and stop executions, read everything.
 * - `reporter`: read, and create/update executions of Tasks in its Run Environment (what a
 *   wrapper inside a container needs). It cannot create or change Tasks, except passive Tasks a
 *   wrapper reports when the key was created with `may_create_passive_tasks`.
 */
export const API_KEY_SCOPES = ['admin', 'developer', 'reporter'] as const;
export const ApiKeyScope = z.enum(API_KEY_SCOPES);
export type ApiKeyScope = z.infer<typeof ApiKeyScope>;

const RANK: Record<ApiKeyScope, number> = { reporter: 0, developer: 1, admin: 2 };

/** Whether a key of scope `have` may do what needs scope `need`. */
export function scopeAllows(have: ApiKeyScope, need: ApiKeyScope): boolean {
  return RANK[have] >= RANK[need];
}

export const CreateApiKeyRequest = z
  .strictObject({
    name: Name,
    scope: ApiKeyScope,
    run_environment: z
      .string()
      .min(1)
      .optional()
      .describe('For reporter keys: the Run Environment (name or uuid) whose executions it may report. Omit for all.'),
    may_create_passive_tasks: z
      .boolean()
      .default(false)
      .describe(
        "For reporter keys bound to a Run Environment: a wrapper using it may create a passive (monitor-only) Task there when it reports a run of a Task Berth does not know yet (proc_wrapper's auto-create). Admin and developer keys always may. (Default: false)",
      ),
  })
  .superRefine((key, ctx) => {
    if (!key.may_create_passive_tasks) return;
    if (key.scope !== 'reporter') {
      ctx.addIssue({
        code: 'custom',
        path: ['may_create_passive_tasks'],
        message: `${key.scope} keys may always create passive Tasks; the flag is for reporter keys`,
      });
    } else if (key.run_environment === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['may_create_passive_tasks'],
        message: 'a reporter key that may create Tasks must be bound to a Run Environment: give run_environment too',
      });
    }
  });
export type CreateApiKeyRequest = z.infer<typeof CreateApiKeyRequest>;

export const ApiKey = z.object({
  uuid: Uuid,
  name: Name,
  scope: ApiKeyScope,
  prefix: z.string().describe('The first characters of the key, to recognise it; the key itself is never shown again.'),
  run_environment: z.object({ uuid: Uuid, name: Name }).nullable(),
  may_create_passive_tasks: z
    .boolean()
    .describe('Whether a wrapper with this key may create passive Tasks in its Run Environment (admin and developer keys always may).'),
  created_at: Timestamp,
  last_used_at: Timestamp.nullable(),
  revoked_at: Timestamp.nullable(),
});
export type ApiKey = z.infer<typeof ApiKey>;
