import { describe, expect, it } from 'vitest';
import { AwsEcsRunEnvironmentSpec } from '../../domain/run-environment.js';
import { TaskSpec } from '../../domain/task.js';
import type { TaskSpecInput } from '../../domain/task.js';
import { buildTaskDefinition, canonicalJson, HASH_TAG } from './task-definition.js';

const env = AwsEcsRunEnvironmentSpec.parse({
  name: 'prod',
  kind: 'aws-ecs',
  region: 'eu-west-1',
  cluster: 'berth',
  subnets: ['subnet-0123456789abcdef0'],
  security_groups: ['sg-0123456789abcdef0'],
  execution_role_arn: 'arn:aws:iam::123456789012:role/exec',
  task_role_arn: 'arn:aws:iam::123456789012:role/app',
  tags: { team: 'data' },
  environment: { STAGE: 'prod' },
  secrets: { DB: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf' },
});

function task(extra: Partial<TaskSpecInput> = {}) {
  return TaskSpec.parse({ name: 'etl', run_environment: 'prod', image: 'example/etl:1', ...extra });
}

describe('buildTaskDefinition', () => {
  it('builds a Fargate definition with the family, roles, awslogs and tags', () => {
    const built = buildTaskDefinition(task({ command: ['python', 'etl.py'], cpu: 512, memory: 1024 }), env);
    expect(built.family).toBe('berth-etl');
    expect(built.mainContainer).toBe('main');
    expect(built.logGroup).toBe('/berth/prod');
    const input = built.input;
    expect(input).toMatchObject({
      family: 'berth-etl',
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: '512',
      memory: '1024',
      executionRoleArn: env.execution_role_arn,
      taskRoleArn: env.task_role_arn,
    });
    const main = input.containerDefinitions![0]!;
    expect(main).toMatchObject({ name: 'main', image: 'example/etl:1', essential: true, command: ['python', 'etl.py'], memoryReservation: 1024 });
    expect(main.logConfiguration).toEqual({
      logDriver: 'awslogs',
      options: { 'awslogs-group': '/berth/prod', 'awslogs-region': 'eu-west-1', 'awslogs-stream-prefix': 'berth' },
    });
    expect(main.environment).toEqual([
      { name: 'BERTH_TASK_NAME', value: 'etl' },
      { name: 'STAGE', value: 'prod' },
    ]);
    expect(main.secrets).toEqual([{ name: 'DB', valueFrom: env.secrets.DB }]);
    expect(input.tags).toContainEqual({ key: 'team', value: 'data' });
    expect(input.tags).toContainEqual({ key: HASH_TAG, value: built.hash });
  });

  it('runs a string command through /bin/sh -c, like the local executor', () => {
    const main = buildTaskDefinition(task({ command: 'echo $STAGE | tr a-z A-Z' }), env).input.containerDefinitions![0]!;
    expect(main.entryPoint).toEqual(['/bin/sh', '-c']);
    expect(main.command).toEqual(['echo $STAGE | tr a-z A-Z']);
  });

  it('gives the same hash for the same content, and a new one when anything changes', () => {
    const a = buildTaskDefinition(task(), env).hash;
    expect(buildTaskDefinition(task(), env).hash).toBe(a);
    expect(buildTaskDefinition(task({ image: 'example/etl:2' }), env).hash).not.toBe(a);
    expect(buildTaskDefinition(task({ environment: { X: '1' } }), env).hash).not.toBe(a);
    // Tags do not change the content.
    expect(buildTaskDefinition(task(), { ...env, tags: { team: 'other' } }).hash).toBe(a);
    expect(canonicalJson({ b: 1, a: [2, { d: 1, c: undefined }] })).toBe('{"a":[2,{"d":1}],"b":1}');
  });

  it('starts from a raw task definition and lays Berth fields over it', () => {
    const raw = {
      family: 'theirs',
      networkMode: 'awsvpc',
      cpu: '1024',
      memory: '2048',
      containerDefinitions: [
        { name: 'app', image: 'example/app:7', essential: true, environment: [{ name: 'A', value: 'from-raw' }], memory: 1500 },
        { name: 'log-router', image: 'fluent/fluent-bit', essential: false, memoryReservation: 50 },
      ],
    };
    const built = buildTaskDefinition(
      TaskSpec.parse({ name: 'api', run_environment: 'prod', task_definition: raw, environment: { B: 'from-task' } }),
      env,
    );
    expect(built.mainContainer).toBe('app');
    expect(built.input).toMatchObject({ family: 'berth-api', cpu: '1024', memory: '2048' });
    const [app, router] = built.input.containerDefinitions!;
    expect(app).toMatchObject({ name: 'app', image: 'example/app:7', memory: 1500 });
    expect(app!.environment).toEqual(
      expect.arrayContaining([
        { name: 'A', value: 'from-raw' },
        { name: 'B', value: 'from-task' },
        { name: 'STAGE', value: 'prod' },
      ]),
    );
    expect(router).toMatchObject({ name: 'log-router', memoryReservation: 50 });
    expect(router!.logConfiguration?.logDriver).toBe('awslogs');
  });

  it('adds sidecars, ports, a health check, and leaves the main container what they do not reserve', () => {
    const built = buildTaskDefinition(
      task({
        memory: 1024,
        port_mappings: [{ container_port: 8080 }],
        health_check: { command: ['CMD-SHELL', 'curl -f localhost:8080/health'] },
        sidecars: [{ name: 'proxy', image: 'envoy', essential: true, memory_reservation: 128 }],
      }),
      env,
    );
    const [main, proxy] = built.input.containerDefinitions!;
    expect(main).toMatchObject({ portMappings: [{ containerPort: 8080, protocol: 'tcp' }], memoryReservation: 1024 - 128 });
    expect(main!.healthCheck).toMatchObject({ command: ['CMD-SHELL', 'curl -f localhost:8080/health'], interval: 30, retries: 3 });
    expect(proxy).toMatchObject({ name: 'proxy', image: 'envoy', essential: true });
  });

  it('passes the wrapper settings when the Run Environment has them', () => {
    const withApi = { ...env, api_url: 'https://berth.example.com', api_key_secret: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:berth-key' };
    const main = buildTaskDefinition(task(), withApi).input.containerDefinitions![0]!;
    expect(main.environment).toContainEqual({ name: 'PROC_WRAPPER_API_BASE_URL', value: 'https://berth.example.com' });
    expect(main.secrets).toContainEqual({ name: 'PROC_WRAPPER_API_KEY', valueFrom: withApi.api_key_secret });
  });
});
