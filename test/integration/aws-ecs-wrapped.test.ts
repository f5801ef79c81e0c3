/**
 * A wrapped command on the aws-ecs executor: Berth launches an ECS task whose container runs
 * berth-wrap; the wrapper finds its execution from what Berth put in the task definition and the
 * RunTask overrides, reports the command's real exit code, and Berth reconciles that with what ECS
 * says when the task stops.
 *
 * moto runs no containers, so the test plays the container: it reads the task's definition and
 * overrides back from moto, resolves the container's secrets from moto's Secrets Manager (as the
 * ECS agent would), and runs the bundled berth-wrap with that environment and the container's
 * command. Then it stops the task in moto as ECS would, with or without an exit code.
 */
import { DescribeTaskDefinitionCommand, DescribeTasksCommand, ECSClient, CreateClusterCommand } from '@aws-sdk/client-ecs';
import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsTestConfig, containerExited, defaultNetwork, motoAvailable, startMoto } from '../support/moto.js';
import type { Moto } from '../support/moto.js';
import { ensureWrapperBuilt, runWrap } from '../support/berth-wrap.js';
import { startTestServer } from '../support/server.js';
import { waitFor } from '../support/temp.js';

const TERMINAL = ['SUCCEEDED', 'FAILED', 'TERMINATED_AFTER_TIME_OUT', 'STOPPED', 'ABANDONED', 'ABORTED'];

describe.runIf(await motoAvailable())('a wrapped command on the aws-ecs executor (moto)', () => {
  let moto: Moto;
  let ecs: ECSClient;
  let secrets: SecretsManagerClient;
  let t: Awaited<ReturnType<typeof startTestServer>>;
  let reporterKey: string;

  beforeAll(async () => {
    process.env.AWS_ACCESS_KEY_ID = 'testing';
    process.env.AWS_SECRET_ACCESS_KEY = 'testing';
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    const built = ensureWrapperBuilt();
    moto = await startMoto();
    await moto.setTaskTransition({ progression: 'manual', times: 1_000_000 });
    const net = await defaultNetwork(moto.endpoint);
    ecs = new ECSClient({ ...awsTestConfig(moto.endpoint), maxAttempts: 1 });
    secrets = new SecretsManagerClient(awsTestConfig(moto.endpoint));
    await ecs.send(new CreateClusterCommand({ clusterName: 'berth' }));
    t = await startTestServer();

    // The key the wrapper reports with lives in Secrets Manager; ECS injects it as PROC_WRAPPER_API_KEY.
    const key = await t.request('POST', '/api/v1/api_keys/', { name: 'ecs-wrapper', scope: 'reporter' });
    expect(key.status, JSON.stringify(key.body)).toBe(201);
    reporterKey = key.body.key;
    const secret = await secrets.send(new CreateSecretCommand({ Name: 'berth/ecs/api-key', SecretString: reporterKey }));

    const applied = await t.request('POST', '/api/v1/apply/', {
      document: {
        run_environments: [
          {
            name: 'ecs',
            kind: 'aws-ecs',
            region: 'us-east-1',
            cluster: 'berth',
            subnets: net.subnets.slice(0, 1),
            security_groups: net.securityGroups.slice(0, 1),
            execution_role_arn: 'arn:aws:iam::123456789012:role/berth-task-execution',
            endpoint_url: moto.endpoint,
            api_url: t.server.url,
            api_key_secret: secret.ARN,
          },
        ],
        tasks: [
          {
            name: 'wrapped-etl',
            run_environment: 'ecs',
            image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/etl:1',
            // The image's entry point is berth-wrap; the command is what it wraps.
            command: ['sh', '-c', 'echo "loading rows"; echo "bad row 17" >&2; exit "${EXIT_WITH:-0}"'],
            cpu: 256,
            memory: 512,
          },
        ],
      },
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    await built;
  }, 120_000);

  afterAll(async () => {
    await t?.stop();
    ecs?.destroy();
    secrets?.destroy();
    await moto?.stop();
  });

  const get = async (uuid: string) => (await t.request('GET', `/api/v1/task_executions/${uuid}`)).body;

  async function start(environment: Record<string, string>) {
    const r = await t.request('POST', '/api/v1/task_executions/', { task: 'wrapped-etl', environment });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const uuid = r.body.uuid as string;
    const arn = await waitFor(async () => (await get(uuid)).executor?.details?.task_arn as string | undefined, `the ECS task of ${uuid}`);
    return { uuid, arn };
  }

  /** The main container's environment and command as ECS would give them: definition + overrides + secrets. */
  async function containerOf(arn: string): Promise<{ env: Record<string, string>; command: string[] }> {
    const described = await ecs.send(new DescribeTasksCommand({ cluster: 'berth', tasks: [arn] }));
    const task = described.tasks![0]!;
    const definition = (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: task.taskDefinitionArn! }))).taskDefinition!;
    const main = definition.containerDefinitions!.find((c) => c.essential)!;
    const override = task.overrides?.containerOverrides?.find((o) => o.name === main.name);
    const env: Record<string, string> = {};
    for (const pair of [...(main.environment ?? []), ...(override?.environment ?? [])]) env[pair.name!] = pair.value!;
    for (const s of main.secrets ?? []) {
      env[s.name!] = (await secrets.send(new GetSecretValueCommand({ SecretId: s.valueFrom! }))).SecretString!;
    }
    return { env, command: override?.command ?? main.command ?? [] };
  }

  async function stopInMoto(arn: string, exitCode: number | null) {
    await containerExited(moto, arn, exitCode);
  }

  async function waitForEnd(uuid: string) {
    return waitFor(async () => {
      const e = await get(uuid);
      return TERMINAL.includes(e.status) ? e : null;
    }, `execution ${uuid} to end`, 30_000);
  }

  it('finds its execution from what Berth passed, and its real exit code is the one Berth records when ECS has none', async () => {
    const { uuid, arn } = await start({ EXIT_WITH: '3' });
    const container = await containerOf(arn);
    // What Berth passed: the API URL, the execution, and the key through the secret (never in plain text).
    expect(container.env).toMatchObject({ PROC_WRAPPER_API_BASE_URL: t.server.url, PROC_WRAPPER_TASK_EXECUTION_UUID: uuid });
    const definition = JSON.stringify((await ecs.send(new DescribeTasksCommand({ cluster: 'berth', tasks: [arn] }))).tasks);
    expect(definition).not.toContain(reporterKey);

    const wrapped = await runWrap(['--', ...container.command], { env: container.env });
    expect(wrapped.code, wrapped.stderr).toBe(3);
    expect(wrapped.stdout).toContain('loading rows');

    // The wrapper's report is in; the ECS task has not stopped yet, so the execution is still in progress.
    const reported = await get(uuid);
    expect(reported.wrapper_report).toMatchObject({ status: 'FAILED', exit_code: 3 });
    expect(['RUNNING', 'MANUALLY_STARTED']).toContain(reported.status);
    expect(reported.wrapper?.wrapper_family ?? reported.wrapper?.family).toBeTruthy();

    // ECS (like moto) gives no exit code for the container: Berth takes the wrapper's.
    await stopInMoto(arn, null);
    const ended = await waitForEnd(uuid);
    expect(ended.status).toBe('FAILED');
    expect(ended.exit_code).toBe(3);
    expect(ended.failure).toMatchObject({ exit_code: 3 });
    expect(ended.error_log_tail).toContain('bad row 17');
    expect(ended.attempts).toHaveLength(1);
  }, 60_000);

  it('agrees with ECS on a success, and a failure the wrapper saw wins over an exit code 0 from ECS', async () => {
    const ok = await start({ EXIT_WITH: '0' });
    const okContainer = await containerOf(ok.arn);
    expect((await runWrap(['--', ...okContainer.command], { env: okContainer.env })).code).toBe(0);
    await stopInMoto(ok.arn, 0);
    const succeeded = await waitForEnd(ok.uuid);
    expect(succeeded).toMatchObject({ status: 'SUCCEEDED', exit_code: 0 });
    expect(succeeded.wrapper_report).toMatchObject({ status: 'SUCCEEDED', exit_code: 0 });

    // The container exited 0 by ECS's account (e.g. a wrapper that swallows the code), but the
    // wrapper reported the command's exit 5: the run did not succeed.
    const bad = await start({ EXIT_WITH: '5' });
    const badContainer = await containerOf(bad.arn);
    expect((await runWrap(['--', ...badContainer.command], { env: badContainer.env })).code).toBe(5);
    await stopInMoto(bad.arn, 0);
    const failed = await waitForEnd(bad.uuid);
    expect(failed.status).toBe('FAILED');
    expect(failed.wrapper_report).toMatchObject({ status: 'FAILED', exit_code: 5 });
  }, 60_000);
});
