import { z } from 'zod';
import { Name, Timestamp, Uuid } from './common.js';

/**
 * Scopes of API keys, from most to least powerful:
 * - `admin`: everything, including API keys.
 * - `developer`: manage Run Environments and Tasks, start and stop executions, read everything.
 * - `reporter`: read, and create/update executions of Tasks in its Run Environment (what a
 *   wrapper inside a container needs). It cannot create or change Tasks.
 */
export const API_KEY_SCOPES = ['admin', 'developer', 'reporter'] as const;
export const ApiKeyScope = z.enum(API_KEY_SCOPES);
export type ApiKeyScope = z.infer<typeof ApiKeyScope>;

const RANK: Record<ApiKeyScope, number> = { reporter: 0, developer: 1, admin: 2 };

/** Whether a key of scope `have` may do what needs scope `need`. */
export function scopeAllows(have: ApiKeyScope, need: ApiKeyScope): boolean {
  return RANK[have] >= RANK[need];
}

export const CreateApiKeyRequest = z.strictObject({
  name: Name,
  scope: ApiKeyScope,
  run_environment: z
    .string()
    .min(1)
    .optional()
    .describe('For reporter keys: the Run Environment (name or uuid) whose executions it may report. Omit for all.'),
});
export type CreateApiKeyRequest = z.infer<typeof CreateApiKeyRequest>;

export const ApiKey = z.object({
  uuid: Uuid,
  name: Name,
  scope: ApiKeyScope,
  prefix: z.string().describe('The first characters of the key, to recognise it; the key itself is never shown again.'),
  run_environment: z.object({ uuid: Uuid, name: Name }).nullable(),
  created_at: Timestamp,
  last_used_at: Timestamp.nullable(),
  revoked_at: Timestamp.nullable(),
});
export type ApiKey = z.infer<typeof ApiKey>;
