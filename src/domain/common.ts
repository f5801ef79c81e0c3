import { z } from 'zod';
import type { ValidationIssue } from './errors.js';

/** Names of Run Environments, Tasks and API keys: unique per kind, safe in URLs and file names. */
export const Name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, {
    message:
      'must be 1–100 characters: letters, digits, ".", "_" or "-", starting with a letter or digit',
  })
  .describe('Unique name: letters, digits, ".", "_", "-" (1–100 characters).');
export type Name = z.infer<typeof Name>;

export const Uuid = z.uuid({ message: 'must be a UUID like 0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f' });

/** True when `value` looks like a UUID (used to decide whether a path segment is a uuid or a name). */
export function looksLikeUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}

/** Environment variable names as POSIX shells accept them. */
export const EnvVarName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be a valid environment variable name (letters, digits, "_", not starting with a digit)' });

export const Environment = z
  .record(EnvVarName, z.string({ message: 'environment values must be strings (quote numbers and booleans in YAML)' }))
  .describe('Environment variables passed to the process: name → value.');
export type Environment = z.infer<typeof Environment>;

/** Timestamps on the wire: ISO-8601 UTC strings. */
export const Timestamp = z.iso.datetime({ offset: true });

/**
 * Formats a zod error's issues as `{path, message}` with paths like `tasks[1].timeout_seconds`.
 * Unknown keys get their own path (`tasks[0].colour`) and a message that names the fix.
 */
export function formatIssues(error: z.ZodError): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push({
          path: formatPath([...issue.path, key]),
          message: 'unknown field; remove it or check its spelling',
          code: 'unknown_field',
        });
      }
      continue;
    }
    if (issue.code === 'invalid_union' && 'errors' in issue && Array.isArray(issue.errors)) {
      // Report the branch that got furthest, rather than "invalid input" for the whole union.
      const branches = issue.errors as z.core.$ZodIssue[][];
      const best = branches.reduce((a, b) => (a.length <= b.length ? a : b), branches[0] ?? []);
      const nested = best.filter((i) => i.path.length > 0);
      if (nested.length > 0 && branches.length > 0) {
        for (const n of nested) {
          out.push({ path: formatPath([...issue.path, ...n.path]), message: n.message, code: n.code });
        }
        continue;
      }
    }
    out.push({ path: formatPath(issue.path), message: issue.message, code: issue.code });
  }
  return out;
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(root)' : out;
}

/** One line per issue: `path: message`. */
export function issuesToText(issues: ValidationIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('\n');
}
