import { z } from 'zod';
import { Environment, Name, Timestamp, Uuid } from './common.js';
import { SecretRefText, isAwsSecretRef } from './secret-ref.js';

export const RUN_ENVIRONMENT_KINDS = ['local'] as const;
export const RunEnvironmentKind = z.enum(RUN_ENVIRONMENT_KINDS);
export type RunEnvironmentKind = z.infer<typeof RunEnvironmentKind>;

export const Secrets = z
  .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be a valid environment variable name' }), SecretRefText)
  .describe('Secrets passed to the process as environment variables: name → reference (ENV:…, FILE:…, or an AWS ARN).');
export type Secrets = z.infer<typeof Secrets>;

/**
 * A `local` Run Environment: Tasks run as child processes of the Berth host.
 * `working_directory` is the default for its Tasks; `environment` and `secrets` are merged under
 * each Task's own (the Task wins).
 */
export const LocalRunEnvironmentSpec = z.strictObject({
  name: Name,
  kind: z.literal('local').describe('local: Tasks run as child processes of the berth server host.'),
  description: z.string().max(2000).optional().describe('Free text for people.'),
  working_directory: z
    .string()
    .regex(/^\//, { message: 'must be an absolute path on the Berth host' })
    .optional()
    .describe('Default working directory for Tasks (absolute path). (Default: the directory berth server was started in)'),
  environment: Environment.default({}),
  secrets: Secrets.default({}).superRefine((secrets, ctx) => {
    for (const [name, ref] of Object.entries(secrets)) {
      if (isAwsSecretRef(ref)) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: 'a local Run Environment cannot read AWS secrets; use ENV:NAME or FILE:/path',
        });
      }
    }
  }),
});

export const RunEnvironmentSpec = z.discriminatedUnion('kind', [LocalRunEnvironmentSpec], {
  error: (issue) =>
    issue.code === 'invalid_union' ? `kind must be one of: ${RUN_ENVIRONMENT_KINDS.join(', ')}` : undefined,
});
/** A Run Environment as written in `berth.yaml` or sent to the API. */
export type RunEnvironmentSpec = z.infer<typeof RunEnvironmentSpec>;

/** A Run Environment as the API returns it. */
export const RunEnvironment = z.object({
  uuid: Uuid,
  name: Name,
  kind: RunEnvironmentKind,
  description: z.string().nullable(),
  working_directory: z.string().nullable(),
  environment: Environment,
  secrets: z.record(z.string(), z.string()).describe('Secret references (never values).'),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type RunEnvironment = z.infer<typeof RunEnvironment>;
