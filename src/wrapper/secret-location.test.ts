import { describe, expect, it } from 'vitest';
import {
  describeLocation,
  parseDotenv,
  parseJsonPath,
  parseLocation,
  parseSecretsManagerAddress,
  selectPath,
  toEnvValue,
} from './secret-location.js';

function parsed(text: string) {
  const result = parseLocation(text);
  if (!result.ok) throw new Error(result.message);
  return result.value;
}

describe('parseLocation', () => {
  it('reads provider, address, format and path', () => {
    expect(parsed('AWS_SM:prod/db!json|JP:$.password')).toEqual({ provider: 'AWS_SM', address: 'prod/db', format: 'json', path: ['password'] });
    expect(parsed('FILE:/run/secrets/app.env|JP:DB_URL')).toEqual({ provider: 'FILE', address: '/run/secrets/app.env', format: 'dotenv', path: ['DB_URL'] });
    expect(parsed('FILE:/etc/app.yml|JP:db.hosts[1]')).toEqual({ provider: 'FILE', address: '/etc/app.yml', format: 'yaml', path: ['db', 'hosts', 1] });
    expect(parsed('ENV:APP_DB_PASSWORD')).toEqual({ provider: 'ENV', address: 'APP_DB_PASSWORD', format: 'text', path: null });
    expect(parsed('AWS_S3:s3://bucket/config/app.json!JSON')).toMatchObject({ provider: 'AWS_S3', format: 'json', path: null });
  });

  it('infers the provider of ARNs and s3:// URLs, and PLAIN otherwise', () => {
    expect(parsed('arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf').provider).toBe('AWS_SM');
    expect(parsed('arn:aws:ssm:eu-west-1:123456789012:parameter/app/key').provider).toBe('AWS_SSM');
    expect(parsed('arn:aws:s3:::bucket/key.txt').provider).toBe('AWS_S3');
    expect(parsed('s3://bucket/key.txt').provider).toBe('AWS_S3');
    expect(parsed('just some value: with a colon!')).toEqual({ provider: 'PLAIN', address: 'just some value: with a colon!', format: 'text', path: null });
    expect(parsed('PLAIN:{"a":1}|JP:a')).toEqual({ provider: 'PLAIN', address: '{"a":1}', format: 'json', path: ['a'] });
  });

  it('explains what is wrong', () => {
    const message = (text: string) => {
      const result = parseLocation(text);
      return result.ok ? 'ok' : result.message;
    };
    expect(message('SECRETS:x')).toMatch(/unknown provider "SECRETS:"/);
    expect(message('ENV:not-a-name')).toMatch(/must name an environment variable/);
    expect(message('AWS_SM:')).toMatch(/needs an address/);
    expect(message('AWS_S3:bucket-only')).toMatch(/needs arn:aws:s3:::BUCKET\/KEY or s3:\/\/BUCKET\/KEY/);
    expect(message('FILE:/x!text|JP:a')).toMatch(/cannot be used with !text/);
    expect(message('FILE:/x|JP:a..b')).toMatch(/invalid \|JP: path/);
  });

  it('never shows a PLAIN value when describing a location', () => {
    expect(describeLocation(parsed('PLAIN:hunter2'))).toBe('PLAIN:(value not shown)');
    expect(describeLocation(parsed('AWS_SSM:/app/key'))).toBe('AWS_SSM:/app/key');
    expect(describeLocation(parsed('FILE:/a.json|JP:$["x.y"][0]'))).toBe('FILE:/a.json!json|JP:$["x.y"][0]');
  });
});

describe('Secrets Manager addresses', () => {
  it('reads the ECS valueFrom form with a JSON key, stage and version', () => {
    expect(parseSecretsManagerAddress('arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf:password::')).toEqual({
      secretId: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf',
      region: 'eu-west-1',
      jsonKey: 'password',
      versionStage: null,
      versionId: null,
    });
    expect(parseSecretsManagerAddress('prod/db')).toMatchObject({ secretId: 'prod/db', region: null, jsonKey: null });
  });
});

describe('JSON paths', () => {
  it('parses dotted, indexed and quoted parts', () => {
    expect(parseJsonPath('$.a.b[2]')).toEqual({ ok: true, value: ['a', 'b', 2] });
    expect(parseJsonPath("$['a.b'][\"c\"]")).toEqual({ ok: true, value: ['a.b', 'c'] });
    expect(parseJsonPath('password')).toEqual({ ok: true, value: ['password'] });
    expect(parseJsonPath('$').ok).toBe(false);
    expect(parseJsonPath('$.a[x]').ok).toBe(false);
  });

  it('selects values and says which part is missing', () => {
    const doc = { db: { hosts: ['a', 'b'], port: 5432 } };
    expect(selectPath(doc, ['db', 'hosts', 1])).toEqual({ found: true, value: 'b' });
    expect(selectPath(doc, ['db', 'user'])).toEqual({ found: false, missing: '$.db.user' });
    expect(selectPath(doc, ['db', 'hosts', 5])).toEqual({ found: false, missing: '$.db.hosts[5]' });
    expect(selectPath(doc, ['toString'])).toEqual({ found: false, missing: '$.toString' });
  });
});

describe('toEnvValue', () => {
  it('gives strings only: numbers and booleans as text, objects as JSON, null refused', () => {
    expect(toEnvValue('x')).toEqual({ ok: true, value: 'x' });
    expect(toEnvValue(5432)).toEqual({ ok: true, value: '5432' });
    expect(toEnvValue(false)).toEqual({ ok: true, value: 'false' });
    expect(toEnvValue({ a: [1] })).toEqual({ ok: true, value: '{"a":[1]}' });
    expect(toEnvValue(null).ok).toBe(false);
    expect(toEnvValue(undefined).ok).toBe(false);
  });
});

describe('parseDotenv', () => {
  it('reads the common forms', () => {
    const text = [
      '# comment',
      'A=1',
      'export B = two words ',
      "C='single $quoted # not a comment'",
      'D="line1\\nline2 \\"q\\""',
      'E=value # trailing comment',
      'F="multi',
      'line"',
      'EMPTY=',
      '',
    ].join('\r\n');
    expect(parseDotenv(text)).toEqual({
      ok: true,
      value: { A: '1', B: 'two words', C: 'single $quoted # not a comment', D: 'line1\nline2 "q"', E: 'value', F: 'multi\nline', EMPTY: '' },
    });
  });

  it('reports the line number, never the line', () => {
    expect(parseDotenv('A=1\nsecret-value-without-key\n')).toEqual({ ok: false, message: 'dotenv line 2 is not KEY=value' });
    expect(parseDotenv('A="open')).toEqual({ ok: false, message: 'dotenv value of A has no closing double quote' });
  });
});
