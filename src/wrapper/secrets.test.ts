import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseLocation } from './secret-location.js';
import { resolveSecrets, SecretResolutionError } from './secrets.js';
import type { EnvFromSpec, SecretSpec } from './secrets.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-wrap-secrets-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}

function secret(name: string, location: string): SecretSpec {
  const parsed = parseLocation(location);
  if (!parsed.ok) throw new Error(parsed.message);
  return { name, location: parsed.value, source: `BERTH_WRAP_SECRET_${name}` };
}

function envFrom(location: string): EnvFromSpec {
  const parsed = parseLocation(location);
  if (!parsed.ok) throw new Error(parsed.message);
  return { location: parsed.value, source: 'BERTH_WRAP_ENV_FROM' };
}

const noAws = { region: null, endpoint: null };

describe('resolveSecrets', () => {
  it('resolves PLAIN, ENV and FILE, with formats and paths', async () => {
    const json = file('app.json', JSON.stringify({ db: { password: 'pw-json', port: 5432, opts: { ssl: true } } }));
    const dotenv = file('app.env', 'TOKEN="tok-dotenv"\nOTHER=x\n');
    const yaml = file('app.yaml', 'db:\n  user: yaml-user\n');
    const text = file('plain.txt', 'from-file\n');
    const values = await resolveSecrets(
      [
        secret('A', 'PLAIN:literal'),
        secret('B', 'ENV:SOURCE_VAR'),
        secret('C', `FILE:${text}`),
        secret('D', `FILE:${json}|JP:$.db.password`),
        secret('E', `FILE:${json}|JP:db.port`),
        secret('F', `FILE:${json}|JP:db.opts`),
        secret('G', `FILE:${dotenv}|JP:TOKEN`),
        secret('H', `FILE:${yaml}|JP:db.user`),
        secret('I', 'ENV:JSON_VAR!json|JP:k'),
      ],
      [],
      { env: { SOURCE_VAR: 'from-env', JSON_VAR: '{"k": "v"}' }, aws: noAws },
    );
    expect(values).toEqual({
      A: 'literal',
      B: 'from-env',
      C: 'from-file',
      D: 'pw-json',
      E: '5432',
      F: '{"ssl":true}',
      G: 'tok-dotenv',
      H: 'yaml-user',
      I: 'v',
    });
    for (const value of Object.values(values)) expect(typeof value).toBe('string');
  });

  it('loads every variable of a dotenv or JSON document, individual secrets winning', async () => {
    const dotenv = file('all.env', 'X=1\nY=two\n');
    const json = file('all.json', JSON.stringify({ Y: 'json-y', Z: 3, NESTED: { a: 1 } }));
    const values = await resolveSecrets([secret('Y', 'PLAIN:explicit')], [envFrom(`FILE:${dotenv}`), envFrom(`FILE:${json}`)], { env: {}, aws: noAws });
    expect(values).toEqual({ X: '1', Y: 'explicit', Z: '3', NESTED: '{"a":1}' });
  });

  it('fails naming the variable and the location, never the value', async () => {
    const json = file('pw.json', JSON.stringify({ password: 'super-secret-value', nothing: null }));
    const failures: [SecretSpec, RegExp][] = [
      [secret('DB_PASSWORD', 'ENV:MISSING_VAR'), /^cannot resolve DB_PASSWORD \(from BERTH_WRAP_SECRET_DB_PASSWORD = ENV:MISSING_VAR\): the environment variable MISSING_VAR is not set$/],
      [secret('DB_PASSWORD', `FILE:${json}|JP:$.user`), /nothing at \$\.user in the json document/],
      [secret('DB_PASSWORD', `FILE:${json}|JP:$.nothing`), /the value is null/],
      [secret('DB_PASSWORD', `FILE:${dir}/absent.txt`), /ENOENT/],
      [secret('DB_PASSWORD', 'PLAIN:super-secret-value!json|JP:a'), /PLAIN:\(value not shown\)!json\|JP:\$\.a\): the value is not valid json$/],
    ];
    for (const [spec, pattern] of failures) {
      const error = await resolveSecrets([spec], [], { env: {}, aws: noAws }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SecretResolutionError);
      expect((error as SecretResolutionError).variable).toBe('DB_PASSWORD');
      expect((error as Error).message).toMatch(pattern);
      expect((error as Error).message).not.toContain('super-secret-value');
    }
  });

  it('refuses a document whose keys are not variable names', async () => {
    const bad = file('bad.json', JSON.stringify({ 'not a name': 'x' }));
    await expect(resolveSecrets([], [envFrom(`FILE:${bad}`)], { env: {}, aws: noAws })).rejects.toThrow(/"not a name" is not a valid environment variable name/);
    const list = file('list.json', '[1,2]');
    await expect(resolveSecrets([], [envFrom(`FILE:${list}`)], { env: {}, aws: noAws })).rejects.toThrow(/not an object of NAME: value pairs/);
  });

  it('does not load the AWS SDK when no AWS location is used', async () => {
    let loaded = false;
    await resolveSecrets([secret('A', 'PLAIN:x')], [], {
      env: {},
      aws: noAws,
      loadDeps: () => {
        loaded = true;
        return import('./lazy-deps.js');
      },
    });
    expect(loaded).toBe(false);
  });

  it('needs a region for AWS secrets given by name', async () => {
    await expect(resolveSecrets([secret('T', 'AWS_SM:prod/token')], [], { env: {}, aws: noAws })).rejects.toThrow(
      /cannot resolve T .*: no AWS region: use a full ARN, or set --aws-region/,
    );
  });
});
