import fsp from 'node:fs/promises';
import { BerthError } from '../../domain/errors.js';
import type { ValidationIssue } from '../../domain/errors.js';
import { SECRET_FIELDS } from '../../domain/notification-profile.js';
import type { NotificationProfileSpec, SecretInput, SecretView, StoredMethod, StoredProfileSpec, StoredSecret } from '../../domain/notification-profile.js';
import { parseSecretRef } from '../../domain/secret-ref.js';
import type { SecretBox } from '../secret-box.js';

/** An environment such as `process.env`, passed in (the server's, for `ENV:` references). */
export type HostEnvironment = Readonly<Record<string, string | undefined>>;

/**
 * Turns a validated profile into its stored form: references kept as they are, inline values
 * encrypted, `{secret_set: true}` replaced by the stored value of the method with the same name
 * and type in `previous`. Throws VALIDATION_FAILED (with paths) when a kept secret does not exist.
 */
export function sealProfile(spec: NotificationProfileSpec, previous: StoredProfileSpec | null, box: SecretBox, pathPrefix = ''): StoredProfileSpec {
  const issues: ValidationIssue[] = [];
  const methods = spec.methods.map((method, index) => {
    const out: Record<string, unknown> = { ...method };
    for (const field of SECRET_FIELDS[method.type]) {
      const input = (method as Record<string, unknown>)[field] as SecretInput | undefined;
      if (input === undefined) continue;
      if (typeof input === 'string') out[field] = { reference: input } satisfies StoredSecret;
      else if ('value' in input) out[field] = { encrypted: box.encrypt(input.value) } satisfies StoredSecret;
      else if (input.reference !== undefined) out[field] = { reference: input.reference } satisfies StoredSecret;
      else {
        const before = previous?.methods.find((m) => m.name === method.name && m.type === method.type)?.[field];
        if (before === undefined) {
          issues.push({
            path: `${pathPrefix}methods[${index}].${field}`,
            message: `{secret_set: true} keeps the stored secret, but method "${method.name}" has none stored; give a reference or {value: "…"}`,
            code: 'custom',
          });
        } else out[field] = before;
      }
    }
    return out as StoredMethod;
  });
  if (issues.length) {
    throw new BerthError('VALIDATION_FAILED', `Invalid request: ${issues[0]!.path}: ${issues[0]!.message}`, { issues });
  }
  return { ...spec, methods };
}

/** A stored secret as the API shows it: that it is set, and where from if it is a reference. */
export function secretView(stored: StoredSecret): SecretView {
  return 'reference' in stored ? { secret_set: true, reference: stored.reference } : { secret_set: true };
}

/** A stored method with its secrets replaced by views. */
export function methodView(method: StoredMethod): Record<string, unknown> {
  const out: Record<string, unknown> = { ...method };
  for (const field of SECRET_FIELDS[method.type]) {
    const stored = method[field] as StoredSecret | undefined;
    if (stored !== undefined) out[field] = secretView(stored);
  }
  return out;
}

/**
 * For diffs (`berth apply --dry-run`): the spec with secrets as views, so no value or ciphertext
 * shows. An inline value equal to what `previous` holds (decrypted with `box`) looks unchanged.
 */
export function comparableSpec(
  spec: StoredProfileSpec | NotificationProfileSpec,
  previous?: { spec: StoredProfileSpec; box: SecretBox },
): Record<string, unknown> {
  const sameAsStored = (method: string, type: string, field: string, value: string): boolean => {
    const stored = previous?.spec.methods.find((m) => m.name === method && m.type === type)?.[field] as StoredSecret | undefined;
    if (!stored || !('encrypted' in stored)) return false;
    try {
      return previous!.box.decrypt(stored.encrypted) === value;
    } catch {
      return false;
    }
  };
  return {
    ...spec,
    methods: spec.methods.map((m) => {
      const out: Record<string, unknown> = { ...m };
      for (const field of SECRET_FIELDS[m.type]) {
        const v = out[field] as SecretInput | StoredSecret | undefined;
        if (v === undefined) continue;
        if (typeof v === 'string') out[field] = { secret_set: true, reference: v };
        else if ('value' in v) out[field] = sameAsStored(m.name, m.type, field, v.value) ? { secret_set: true } : { secret_set: true, changed: true };
        else if ('reference' in v && v.reference !== undefined) out[field] = { secret_set: true, reference: v.reference };
        else out[field] = { secret_set: true };
      }
      return out;
    }),
  };
}

/**
 * Reads a delivery secret: decrypts an inline one, resolves a reference (ENV:, FILE:, Secrets
 * Manager, SSM). Throws an Error that names the reference, never the value.
 */
export async function readDeliverySecret(stored: StoredSecret, box: SecretBox, env: HostEnvironment): Promise<string> {
  if ('encrypted' in stored) return box.decrypt(stored.encrypted);
  const parsed = parseSecretRef(stored.reference);
  if (!parsed.ok) throw new Error(`${stored.reference}: ${parsed.message}`);
  const ref = parsed.ref;
  switch (ref.provider) {
    case 'ENV': {
      const value = env[ref.name];
      if (value === undefined || value === '') {
        throw new Error(`ENV:${ref.name} is not set in the Berth server's environment; set it where berth server starts`);
      }
      return value;
    }
    case 'FILE':
      try {
        return (await fsp.readFile(ref.path, 'utf8')).replace(/\r?\n$/, '');
      } catch (thrown) {
        throw new Error(`FILE:${ref.path} could not be read by the Berth server (${(thrown as { code?: string }).code ?? 'error'})`);
      }
    case 'AWS_SM': {
      const region = ref.arn.split(':')[3];
      const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
      const client = new SecretsManagerClient({ region });
      try {
        const out = await client.send(new GetSecretValueCommand({ SecretId: ref.arn }));
        if (out.SecretString === undefined) throw new Error('it has no string value');
        return out.SecretString;
      } catch (thrown) {
        throw new Error(`${ref.arn} could not be read: ${(thrown as { name?: string }).name ?? 'error'}`);
      } finally {
        client.destroy();
      }
    }
    case 'AWS_SSM': {
      const region = ref.arn.split(':')[3];
      const { SSMClient, GetParameterCommand } = await import('@aws-sdk/client-ssm');
      const client = new SSMClient({ region });
      try {
        const name = ref.arn.slice(ref.arn.indexOf(':parameter') + ':parameter'.length);
        const out = await client.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
        if (out.Parameter?.Value === undefined) throw new Error('it has no value');
        return out.Parameter.Value;
      } catch (thrown) {
        throw new Error(`${ref.arn} could not be read: ${(thrown as { name?: string }).name ?? 'error'}`);
      } finally {
        client.destroy();
      }
    }
  }
}
