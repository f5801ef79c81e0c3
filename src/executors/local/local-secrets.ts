import fsp from 'node:fs/promises';
import { startFailure, type Failure } from '../../domain/failure.js';
import { parseSecretRef } from '../../domain/secret-ref.js';

/** An environment such as `process.env`: the Berth server's, passed in rather than read here. */
export type HostEnvironment = Readonly<Record<string, string | undefined>>;

export type LocalSecretsResult = { ok: true; values: Record<string, string> } | { ok: false; failure: Failure };

interface Problem {
  code: string;
  text: string;
}

/**
 * Resolves a Task's secret references (variable name → `ENV:NAME` | `FILE:/abs/path`) on the
 * Berth host, at launch, so values live only in the child's memory. Every problem is reported at
 * once, in one START_FAILED failure whose message names variables, references and paths but never
 * a value. Never throws.
 *
 * @example resolveLocalSecrets({ DB_PASSWORD: 'ENV:PGPASSWORD' }, process.env)
 */
export async function resolveLocalSecrets(
  secrets: Readonly<Record<string, string>>,
  hostEnvironment: HostEnvironment,
): Promise<LocalSecretsResult> {
  const values: Record<string, string> = {};
  const problems: Problem[] = [];
  for (const [variable, reference] of Object.entries(secrets)) {
    const resolved = await resolveOne(variable, reference, hostEnvironment);
    if ('problem' in resolved) problems.push(resolved.problem);
    else values[variable] = resolved.value;
  }
  const first = problems[0];
  if (first === undefined) return { ok: true, values };
  const message =
    problems.length === 1
      ? `Could not resolve a secret of the Task: ${first.text}`
      : `Could not resolve ${problems.length} secrets of the Task: ${problems.map((p) => p.text).join(' ')}`;
  return { ok: false, failure: startFailure(first.code, message, 'config') };
}

async function resolveOne(
  variable: string,
  reference: string,
  hostEnvironment: HostEnvironment,
): Promise<{ value: string } | { problem: Problem }> {
  const parsed = parseSecretRef(reference);
  if (!parsed.ok) {
    return { problem: { code: 'SECRET_REFERENCE_INVALID', text: `${variable}: ${parsed.message}.` } };
  }
  const ref = parsed.ref;
  switch (ref.provider) {
    case 'AWS_SM':
    case 'AWS_SSM':
      return {
        problem: {
          code: 'SECRET_PROVIDER_UNSUPPORTED',
          text:
            `${variable} refers to an AWS secret (${ref.arn}), which the local executor cannot read. ` +
            'Use ENV:NAME (a variable of the Berth server) or FILE:/absolute/path for Tasks that run locally, or run the Task in an aws-ecs Run Environment.',
        },
      };
    case 'ENV': {
      const value = hostEnvironment[ref.name];
      if (value === undefined) {
        return {
          problem: {
            code: 'SECRET_UNRESOLVED',
            text: `${variable} wants ENV:${ref.name}, but the Berth server's environment has no variable ${ref.name}. Set ${ref.name} where the berth server starts, or change the reference.`,
          },
        };
      }
      return checked(variable, `ENV:${ref.name}`, value);
    }
    case 'FILE': {
      let contents: string;
      try {
        contents = await fsp.readFile(ref.path, 'utf8');
      } catch (error) {
        return {
          problem: {
            code: 'SECRET_UNRESOLVED',
            text: `${variable} wants FILE:${ref.path}, but the Berth server could not read that file: ${fileReason(error)}.`,
          },
        };
      }
      return checked(variable, `FILE:${ref.path}`, contents.replace(/\r?\n$/, ''));
    }
  }
}

function checked(variable: string, reference: string, value: string): { value: string } | { problem: Problem } {
  if (value.includes('\0')) {
    return {
      problem: {
        code: 'SECRET_UNRESOLVED',
        text: `${variable} (${reference}) contains a NUL byte, which an environment variable cannot hold.`,
      },
    };
  }
  return { value };
}

function fileReason(error: unknown): string {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
  switch (code) {
    case 'ENOENT':
      return 'it does not exist (ENOENT)';
    case 'EACCES':
    case 'EPERM':
      return `the server's user may not read it (${code})`;
    case 'EISDIR':
      return 'it is a directory (EISDIR)';
    default:
      return code ?? (error instanceof Error ? error.message : String(error));
  }
}
