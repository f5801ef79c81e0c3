/**
 * The AWS helper commands next to the setup wizard: `berth aws templates` (list, write out, no
 * silent overwrite) and `berth aws iam-policy` (the control role's least-privilege policy for a
 * Run Environment, as checkControlRolePolicy sees it). No AWS is needed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkControlRolePolicy } from '../../src/domain/control-role-policy.js';
import type { ControlRoleBindings } from '../../src/domain/control-role-policy.js';
import { startTestServer, TEST_ADMIN_KEY } from '../support/server.js';
import { tempDir } from '../support/temp.js';
import { REPO_ROOT, runCli } from './cli.js';

const TEMPLATES = ['network.yaml', 'cluster.yaml', 'control-role.yaml'];
const EXECUTION = 'arn:aws:iam::210987654321:role/berth-prod-execution';
const TASK_ROLE = 'arn:aws:iam::210987654321:role/berth-prod-task';

let t: Awaited<ReturnType<typeof startTestServer>>;
let dir: ReturnType<typeof tempDir>;
let env: Record<string, string>;

beforeAll(async () => {
  t = await startTestServer();
  dir = tempDir('berth-aws-commands-');
  env = { BERTH_URL: t.server.url, BERTH_API_KEY: TEST_ADMIN_KEY };
  const created = await t.request('POST', '/api/v1/run_environments', {
    name: 'prod',
    kind: 'aws-ecs',
    region: 'eu-west-1',
    cluster: 'berth-prod',
    subnets: ['subnet-0123456789abcdef0'],
    security_groups: ['sg-0123456789abcdef0'],
    execution_role_arn: EXECUTION,
    task_role_arn: TASK_ROLE,
    role_arn: 'arn:aws:iam::210987654321:role/berth-prod-control',
    external_id: 'berth-not-printed-anywhere',
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  expect((await t.request('POST', '/api/v1/run_environments', { name: 'here', kind: 'local' })).status).toBe(201);
});

afterAll(async () => {
  await t?.stop();
  dir?.cleanup();
});

describe('berth aws templates', () => {
  it('lists the three templates with a one-line description each', async () => {
    const r = await runCli(['aws', 'templates']);
    expect(r.code, r.stderr).toBe(0);
    for (const name of TEMPLATES) expect(r.stdout).toMatch(new RegExp(`^${name.replace('.', '\\.')}\\s+\\S+\\s+\\S.+`, 'm'));
    expect(r.stdout).toMatch(/control-role\.yaml\s+CAPABILITY_NAMED_IAM/);
    const json = JSON.parse((await runCli(['aws', 'templates', '--json'])).stdout);
    expect(json.map((x: any) => x.name)).toEqual(TEMPLATES);
    for (const x of json) expect(fs.existsSync(x.path)).toBe(true);
  });

  it('--out writes files identical to the repository\'s, and never overwrites without --force', async () => {
    const out = path.join(dir.dir, 'infra');
    const r = await runCli(['aws', 'templates', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    for (const name of TEMPLATES) {
      expect(fs.readFileSync(path.join(out, name))).toEqual(fs.readFileSync(path.join(REPO_ROOT, 'infra', 'cloudformation', name)));
      expect(r.stdout).toContain(`wrote ${path.join(out, name)}`);
    }

    fs.writeFileSync(path.join(out, 'cluster.yaml'), '# my edits\n');
    const again = await runCli(['aws', 'templates', '--out', out]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/cluster\.yaml.*already exist.*nothing was written.*--force/);
    expect(fs.readFileSync(path.join(out, 'cluster.yaml'), 'utf8')).toBe('# my edits\n');

    const forced = await runCli(['aws', 'templates', '--out', out, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(fs.readFileSync(path.join(out, 'cluster.yaml'))).toEqual(fs.readFileSync(path.join(REPO_ROOT, 'infra', 'cloudformation', 'cluster.yaml')));
  });

  it('works from any working directory (the templates are found next to the code)', async () => {
    const out = path.join(dir.dir, 'elsewhere-out');
    const r = await runCli(['aws', 'templates', '--out', out], { cwd: dir.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual([...TEMPLATES].sort());
  });
});

describe('berth aws iam-policy', () => {
  const bindings: ControlRoleBindings = {
    Partition: 'aws',
    Region: 'eu-west-1',
    Account: '210987654321',
    ClusterName: 'berth-prod',
    TaskDefinitionPrefix: 'berth-',
    LogGroup: '/berth/prod',
    ExecutionRoleArn: EXECUTION,
    TaskRoleArn: TASK_ROLE,
    ScheduleRulePrefix: 'berth-',
    SecretNamePrefix: 'berth/',
  };

  it('prints the minimal policy for the Run Environment: nothing in excess, nothing missing', async () => {
    const r = await runCli(['aws', 'iam-policy', '--run-env', 'prod'], { env });
    expect(r.code, r.stderr).toBe(0);
    const policy = JSON.parse(r.stdout);
    expect(policy.Version).toBe('2012-10-17');
    expect(checkControlRolePolicy(policy, { bindings })).toEqual({ excess: [], missing: [] });
    expect(r.stdout).toContain('arn:aws:ecs:eu-west-1:210987654321:cluster/berth-prod');
    expect(r.stdout).toContain('log-group:/berth/prod');
    expect(r.stdout).not.toContain('berth-not-printed-anywhere');
  });

  it('--services and --eventbridge add exactly their grants; --account-id is checked', async () => {
    const r = await runCli(['aws', 'iam-policy', '--run-env', 'prod', '--services', '--eventbridge', '--account-id', '210987654321'], { env });
    expect(r.code, r.stderr).toBe(0);
    const policy = JSON.parse(r.stdout);
    const features = { services: true, eventBridgeSchedules: true };
    expect(checkControlRolePolicy(policy, { bindings, features })).toEqual({ excess: [], missing: [] });
    // Without the features, the same document has grants in excess.
    expect(checkControlRolePolicy(policy, { bindings }).excess).not.toEqual([]);

    const bad = await runCli(['aws', 'iam-policy', '--run-env', 'prod', '--account-id', '12345'], { env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/accountId "12345" must be 12 digits/);
  });

  it('--secret-prefix scopes the secrets verify may look up, and is checked', async () => {
    const r = await runCli(['aws', 'iam-policy', '--run-env', 'prod', '--secret-prefix', 'team-a/'], { env });
    expect(r.code, r.stderr).toBe(0);
    const policy = JSON.parse(r.stdout);
    expect(checkControlRolePolicy(policy, { bindings: { ...bindings, SecretNamePrefix: 'team-a/' } })).toEqual({ excess: [], missing: [] });
    expect(r.stdout).toContain('arn:aws:secretsmanager:eu-west-1:210987654321:secret:team-a/*');
    // Against the default prefix the same grant is in excess: the check compares resources exactly.
    expect(checkControlRolePolicy(policy, { bindings }).excess.join('\n')).toMatch(/secretsmanager:DescribeSecret/);

    const bad = await runCli(['aws', 'iam-policy', '--run-env', 'prod', '--secret-prefix', '/leading-slash*'], { env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/secretNamePrefix "\/leading-slash\*" must be a name prefix without a leading slash/);
  });

  it('a local Run Environment, or one that does not exist, is a clear error', async () => {
    const local = await runCli(['aws', 'iam-policy', '--run-env', 'here'], { env });
    expect(local.code).toBe(1);
    expect(local.stderr).toMatch(/Run Environment "here" is local: .*no AWS role/);
    expect(local.stdout).toBe('');
    const missing = await runCli(['aws', 'iam-policy', '--run-env', 'nope'], { env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/RUN_ENVIRONMENT_NOT_FOUND/);
    const usage = await runCli(['aws', 'iam-policy'], { env });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--run-env/);
  });
});
