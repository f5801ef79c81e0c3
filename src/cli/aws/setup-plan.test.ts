import { describe, expect, it } from 'vitest';
import type { RunEnvironment } from '../../domain/run-environment.js';
import { InvalidAnswer, pickFromMenu } from './prompts.js';
import { controlRoleName, mergeRunEnvironment, stackNames } from './setup-plan.js';
import { assertNoSecrets } from './setup-state.js';
import { parameterChanges } from './stacks.js';
import type { ExistingStack, StackSpec } from './stacks.js';

describe('names derived from the Run Environment', () => {
  it('stack names are valid CloudFormation names; the role name fits IAM\'s 64 characters', () => {
    expect(stackNames('prod.eu_1')).toEqual({
      network: 'berth-prod-eu-1-network',
      cluster: 'berth-prod-eu-1-cluster',
      controlRole: 'berth-prod-eu-1-control-role',
    });
    expect(controlRoleName('prod')).toBe('berth-prod-control');
    const long = 'a'.repeat(100);
    const name = controlRoleName(long);
    expect(name.length).toBeLessThanOrEqual(64);
    expect(name).toMatch(/^berth-a{40}-[0-9a-f]{8}-control$/);
    expect(controlRoleName(long)).toBe(name); // stable, so a re-run finds the same role
    expect(controlRoleName(`${'a'.repeat(99)}b`)).not.toBe(name);
  });
});

describe('mergeRunEnvironment', () => {
  const existing = {
    uuid: '0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f',
    name: 'prod',
    kind: 'aws-ecs',
    description: null,
    region: 'eu-west-1',
    cluster: 'berth-prod',
    subnets: ['subnet-0123456789abcdef0'],
    security_groups: ['sg-0123456789abcdef0'],
    assign_public_ip: false,
    execution_role_arn: 'arn:aws:iam::123456789012:role/exec',
    tags: { team: 'data' },
    environment: {},
    secrets: {},
    log_stream_prefix: 'berth',
    task_definition_prefix: 'berth-',
    launch_rate: { burst: 100, per_second: 20 },
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
  } as unknown as RunEnvironment;

  it('keeps the fields the wizard does not manage and reports only real changes', () => {
    const same = mergeRunEnvironment(existing, { name: 'prod', kind: 'aws-ecs', region: 'eu-west-1', cluster: 'berth-prod', endpoint_url: undefined });
    expect(same.action).toBe('unchanged');
    const changed = mergeRunEnvironment(existing, { cluster: 'other', role_arn: 'arn:aws:iam::123456789012:role/berth-prod-control' });
    expect(changed.action).toBe('update');
    expect(changed.changed).toEqual(['cluster', 'role_arn']);
    expect(changed.body).toMatchObject({ tags: { team: 'data' }, cluster: 'other' });
    expect(changed.body).not.toHaveProperty('uuid');
    expect(changed.body).not.toHaveProperty('description');
  });

  it('a new one gets a description and no undefined fields', () => {
    const created = mergeRunEnvironment(null, { name: 'prod', kind: 'aws-ecs', endpoint_url: undefined });
    expect(created.action).toBe('create');
    expect(created.body).toEqual({ description: 'Set up by berth setup aws.', name: 'prod', kind: 'aws-ecs' });
  });
});

describe('parameterChanges', () => {
  const spec: StackSpec = { name: 's', template: 'control-role.yaml', parameters: { ClusterName: 'a', ExternalId: 'secret-1' }, noEcho: ['ExternalId'] };
  const stack = (parameters: Record<string, string>): ExistingStack => ({ id: 's', name: 's', status: 'CREATE_COMPLETE', reason: null, parameters, outputs: {}, lastUpdated: null });

  it('compares NoEcho parameters only when they can be compared, and never shows them', () => {
    expect(parameterChanges(spec, stack({ ClusterName: 'a', ExternalId: '****' }))).toEqual([]);
    expect(parameterChanges({ ...spec, secretChanged: true }, stack({ ClusterName: 'a', ExternalId: '****' }))).toEqual([
      { key: 'ExternalId', before: '(hidden)', after: '(hidden)' },
    ]);
    expect(parameterChanges(spec, stack({ ClusterName: 'b', ExternalId: 'secret-2' }))).toEqual([
      { key: 'ClusterName', before: 'b', after: 'a' },
      { key: 'ExternalId', before: '(hidden)', after: '(hidden)' },
    ]);
  });
});

describe('pickFromMenu', () => {
  const ids = ['subnet-a', 'subnet-b', 'subnet-c'];
  it('takes numbers only when typed, ids always, and says what is wrong', () => {
    expect(pickFromMenu('1, 3', ids, true, 'subnet id')).toEqual(['subnet-a', 'subnet-c']);
    expect(pickFromMenu('subnet-b,subnet-b', ids, false, 'subnet id')).toEqual(['subnet-b']);
    expect(() => pickFromMenu('4', ids, true, 'subnet id')).toThrow(new InvalidAnswer('there is no choice 4: answer with numbers from 1 to 3, or subnet ids'));
    expect(() => pickFromMenu('1', ids, false, 'subnet id')).toThrow(/1 is not one of the subnet ids listed/);
  });
});

describe('assertNoSecrets', () => {
  it('refuses known secrets and anything shaped like an access key id', () => {
    expect(() => assertNoSecrets('{"a":"b"}', ['s3cret-value'])).not.toThrow();
    expect(() => assertNoSecrets('{"a":"s3cret-value"}', ['s3cret-value'])).toThrow(/refusing to write/);
    expect(() => assertNoSecrets('{"a":"AKIAIOSFODNN7EXAMPLE"}', [])).toThrow(/refusing to write/);
    expect(() => assertNoSecrets('{"a":"ASIARZPUZDIKCM2USRK7"}', [])).toThrow(/refusing to write/);
  });
});
