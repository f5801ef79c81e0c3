import { z } from 'zod';

/**
 * A secret reference says where a secret's value lives; the value itself is never stored by
 * Berth, only read at launch and handed to the process.
 *
 * - `ENV:NAME`           an environment variable of the Berth server process (local executor)
 * - `FILE:/abs/path`     the contents of a file on the Berth host, trailing newline removed
 * - `arn:aws:secretsmanager:…` / `arn:aws:ssm:…:parameter/…`  AWS secrets (aws-ecs executor)
 */
export type SecretRef =
  | { provider: 'ENV'; name: string }
  | { provider: 'FILE'; path: string }
  | { provider: 'AWS_SM'; arn: string }
  | { provider: 'AWS_SSM'; arn: string };

const SM_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+(:[^:]*){0,3}$/;
const SSM_ARN = /^arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter\/[A-Za-z0-9/_.-]+$/;

/** Parses a reference, or returns a message saying what a valid one looks like. */
export function parseSecretRef(text: string): { ok: true; ref: SecretRef } | { ok: false; message: string } {
  const colon = text.indexOf(':');
  const prefix = colon > 0 ? text.slice(0, colon).toUpperCase() : '';
  const rest = colon > 0 ? text.slice(colon + 1) : '';
  if (prefix === 'ENV') {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(rest)) {
      return { ok: false, message: `"ENV:" must be followed by an environment variable name, got "${rest}"` };
    }
    return { ok: true, ref: { provider: 'ENV', name: rest } };
  }
  if (prefix === 'FILE') {
    if (!rest.startsWith('/')) {
      return { ok: false, message: `"FILE:" needs an absolute path on the Berth host, like FILE:/etc/berth/db-password; got "${rest}"` };
    }
    return { ok: true, ref: { provider: 'FILE', path: rest } };
  }
  if (text.startsWith('arn:')) {
    if (SM_ARN.test(text)) return { ok: true, ref: { provider: 'AWS_SM', arn: text } };
    if (SSM_ARN.test(text)) return { ok: true, ref: { provider: 'AWS_SSM', arn: text } };
    return {
      ok: false,
      message:
        'AWS secret references must be Secrets Manager ARNs (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME) or SSM parameter ARNs (arn:aws:ssm:REGION:ACCOUNT:parameter/NAME)',
    };
  }
  return {
    ok: false,
    message: 'a secret reference must start with ENV:, FILE: or be a Secrets Manager / SSM parameter ARN',
  };
}

export const SecretRefText = z
  .string()
  .superRefine((value, ctx) => {
    const parsed = parseSecretRef(value);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
  })
  .describe('Where the secret value lives: ENV:NAME, FILE:/absolute/path, or an AWS Secrets Manager / SSM parameter ARN.');

/** True for references that only the aws-ecs executor can resolve. */
export function isAwsSecretRef(text: string): boolean {
  const parsed = parseSecretRef(text);
  return parsed.ok && (parsed.ref.provider === 'AWS_SM' || parsed.ref.provider === 'AWS_SSM');
}
