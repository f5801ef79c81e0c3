import { describe, expect, it } from 'vitest';
import { BerthConfig } from './berth-config.js';
import { formatIssues } from './common.js';
import { parseSecretRef } from './secret-ref.js';

function issues(doc: unknown) {
  const r = BerthConfig.safeParse(doc);
  return r.success ? [] : formatIssues(r.error);
}

const env = { name: 'local', kind: 'local' };

describe('berth.yaml validation', () => {
  it('accepts a minimal document and fills defaults', () => {
    const r = BerthConfig.parse({ run_environments: [env], tasks: [{ name: 'hello', run_environment: 'local', command: 'echo hi' }] });
    expect(r.tasks[0]).toMatchObject({ enabled: true, max_retries: 0, termination_grace_period_seconds: 30, max_concurrency: null });
  });

  it('names the path of an unknown field', () => {
    expect(issues({ tasks: [{ name: 'a', run_environment: 'local', command: 'x', colour: 'red' }] })).toEqual([
      { path: 'tasks[0].colour', message: 'unknown field; remove it or check its spelling', code: 'unknown_field' },
    ]);
    expect(issues({ taskz: [] })[0]?.path).toBe('taskz');
  });

  it('names the path of a wrong type', () => {
    const found = issues({ tasks: [{ name: 'a', run_environment: 'local', command: 'x' }, { name: 'b', run_environment: 'local', command: 'x', timeout_seconds: 'soon' }] });
    expect(found).toHaveLength(1);
    expect(found[0]?.path).toBe('tasks[1].timeout_seconds');
    expect(found[0]?.message).toMatch(/number of seconds/);
  });

  it('requires a command unless the task is passive', () => {
    expect(issues({ tasks: [{ name: 'a', run_environment: 'local' }] })[0]).toMatchObject({ path: 'tasks[0].command' });
    expect(issues({ tasks: [{ name: 'a', run_environment: 'local', passive: true }] })).toEqual([]);
  });

  it('explains a bad cpu value', () => {
    for (const cpu of ['lots', 0, 1.5, 99999]) {
      const found = issues({ tasks: [{ name: 'a', run_environment: 'local', command: 'x', cpu }] });
      expect(found[0]?.path).toBe('tasks[0].cpu');
      expect(found[0]?.message).toMatch(/CPU units/);
    }
  });

  it('rejects duplicate names, bad names and bad environment names', () => {
    expect(issues({ tasks: [{ name: 'a', run_environment: 'l', command: 'x' }, { name: 'a', run_environment: 'l', command: 'y' }] })[0]).toMatchObject({
      path: 'tasks[1].name',
    });
    expect(issues({ tasks: [{ name: 'has space', run_environment: 'l', command: 'x' }] })[0]?.path).toBe('tasks[0].name');
    expect(issues({ tasks: [{ name: 'a', run_environment: 'l', command: 'x', environment: { '1BAD': 'v' } }] })[0]?.path).toMatch(/^tasks\[0\]\.environment/);
    expect(issues({ tasks: [{ name: 'a', run_environment: 'l', command: 'x', environment: { N: 5 } }] })[0]?.message).toMatch(/quote numbers/);
  });

  it('validates run environment kinds and secret references', () => {
    expect(issues({ run_environments: [{ name: 'x', kind: 'moon' }] })[0]?.message).toMatch(/kind must be one of: local/);
    expect(issues({ run_environments: [{ ...env, secrets: { DB: 'plain-text' } }] })[0]).toMatchObject({ path: 'run_environments[0].secrets.DB' });
    expect(
      issues({ run_environments: [{ ...env, secrets: { DB: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:db' } }] })[0]?.message,
    ).toMatch(/cannot read AWS secrets/);
  });
});

describe('secret references', () => {
  it('parses the providers and explains bad ones', () => {
    expect(parseSecretRef('ENV:DB_PASSWORD')).toEqual({ ok: true, ref: { provider: 'ENV', name: 'DB_PASSWORD' } });
    expect(parseSecretRef('file:/etc/secret')).toEqual({ ok: true, ref: { provider: 'FILE', path: '/etc/secret' } });
    expect(parseSecretRef('FILE:relative')).toMatchObject({ ok: false });
    expect(parseSecretRef('arn:aws:ssm:eu-west-1:123456789012:parameter/app/db')).toMatchObject({ ok: true, ref: { provider: 'AWS_SSM' } });
    expect(parseSecretRef('arn:aws:s3:::bucket')).toMatchObject({ ok: false });
    expect(parseSecretRef('hunter2')).toMatchObject({ ok: false });
  });
});
