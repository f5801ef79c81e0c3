/**
 * The CLI with aws-ecs Run Environments and Tasks: task_definition_file in berth.yaml, local
 * validation of ECS values, tasks show/ls, envs show, prune-revisions. No AWS is needed: the server
 * validates and stores aws-ecs objects without calling AWS.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, TEST_ADMIN_KEY } from '../support/server.js';
import { tempDir } from '../support/temp.js';
import { runCli, unusedPort, writeFile } from './cli.js';
import type { CliOptions } from './cli.js';

let t: Awaited<ReturnType<typeof startTestServer>>;
let files: ReturnType<typeof tempDir>;
let env: Record<string, string>;
/** The berth.yaml files live here; the task definitions in `defs/` under it. */
let deploy: string;

const berth = (args: string[], options: Omit<CliOptions, 'env'> & { env?: Record<string, string | undefined> } = {}) =>
  runCli(args, { ...options, env: { ...env, ...options.env } });

const ECS_ENV = `
  - name: prod
    kind: aws-ecs
    region: us-east-1
    cluster: berth
    subnets: [subnet-0123456789abcdef0]
    security_groups: [sg-0123456789abcdef0]
    execution_role_arn: arn:aws:iam::123456789012:role/exec
    api_url: https://berth.example.com
`;

const ETL_DEFINITION = {
  cpu: '512',
  memory: '1024',
  containerDefinitions: [
    { name: 'app', image: 'public.ecr.aws/docker/library/python:3.12', essential: true, command: ['python', 'etl.py'] },
    { name: 'log-router', image: 'public.ecr.aws/aws-observability/aws-for-fluent-bit:stable', essential: false },
  ],
};

beforeAll(async () => {
  t = await startTestServer();
  files = tempDir('berth-cli-ecs-');
  env = { BERTH_URL: t.server.url, BERTH_API_KEY: TEST_ADMIN_KEY };
  deploy = path.join(files.dir, 'deploy');
  fs.mkdirSync(path.join(deploy, 'defs'), { recursive: true });
  writeFile(path.join(deploy, 'defs'), 'etl.json', `${JSON.stringify(ETL_DEFINITION, null, 2)}\n`);
  expect((await t.request('POST', '/api/v1/run_environments', { name: 'local', kind: 'local' })).status).toBe(201);
});
afterAll(async () => {
  await t?.stop();
  files?.cleanup();
});

const get = async (path: string) => (await t.request('GET', path)).body;

describe('berth apply with task_definition_file', () => {
  it('reads the file relative to the berth.yaml (not the working directory) and sends it as task_definition', async () => {
    writeFile(
      deploy,
      'berth.yaml',
      `run_environments:${ECS_ENV}
tasks:
  - name: etl
    run_environment: prod
    task_definition_file: defs/etl.json
    environment: {STAGE: prod}
  - name: api
    run_environment: prod
    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/api:1.4
    command: [node, server.js]
    cpu: 512
    memory: 1024
    port_mappings: [{container_port: 8080}]
    health_check:
      command: [CMD-SHELL, "curl -f http://localhost:8080/health || exit 1"]
      interval_seconds: 10
    sidecars:
      - name: envoy
        image: public.ecr.aws/appmesh/aws-appmesh-envoy:v1.27
        essential: true
      - name: xray
        image: public.ecr.aws/xray/aws-xray-daemon:3.3
`,
    );
    // From the parent directory: defs/etl.json only exists next to the berth.yaml.
    const r = await berth(['apply', '-f', path.join('deploy', 'berth.yaml')], { cwd: files.dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('+ run_environment prod (create)');
    expect(r.stdout).toContain('+ task etl (create)');
    expect(r.stdout).toContain('+ task api (create)');

    const etl = await get('/api/v1/tasks/etl');
    expect(etl.task_definition).toEqual(ETL_DEFINITION);
    expect(etl).not.toHaveProperty('task_definition_file');
    expect(etl.environment).toEqual({ STAGE: 'prod' });

    // Applied again: unchanged. A changed file shows which keys of the definition changed, on one line.
    const again = await berth(['apply', '-f', path.join(deploy, 'berth.yaml')]);
    expect(again.stdout).toContain('= task etl (unchanged)');
    writeFile(path.join(deploy, 'defs'), 'etl.json', JSON.stringify({ ...ETL_DEFINITION, memory: '2048' }));
    const dry = await berth(['apply', '-f', path.join(deploy, 'berth.yaml'), '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('~ task etl (update)');
    expect(dry.stdout).toMatch(/^ {4}task_definition: changed memory \(see --json for the values\)$/m);
    writeFile(path.join(deploy, 'defs'), 'etl.json', JSON.stringify(ETL_DEFINITION));
  });

  it('with -f - the path is relative to the working directory; an absolute path is used as it is', async () => {
    const absolute = writeFile(files.dir, 'absolute.json', JSON.stringify({ containerDefinitions: [{ name: 'worker', image: 'busybox:1.36' }] }));
    const yaml = `tasks:
  - name: from-stdin
    run_environment: prod
    task_definition_file: defs/etl.json
  - name: from-absolute
    run_environment: prod
    task_definition_file: ${absolute}
`;
    const r = await berth(['apply', '-f', '-'], { cwd: deploy, input: yaml });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((await get('/api/v1/tasks/from-stdin')).task_definition).toEqual(ETL_DEFINITION);
    expect((await get('/api/v1/tasks/from-absolute')).task_definition.containerDefinitions[0].name).toBe('worker');
  });

  it('a missing file is an error naming the resolved path; nothing is written', async () => {
    const file = writeFile(
      deploy,
      'missing.yaml',
      'tasks:\n  - name: ghost\n    run_environment: prod\n    task_definition_file: defs/nope.json\n',
    );
    const r = await berth(['apply', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: ${file} is invalid (1 problem); nothing was applied`);
    expect(r.stderr).toContain(`${file}: tasks[0].task_definition_file: cannot read ${path.join(deploy, 'defs', 'nope.json')}: no such file`);
    expect((await t.request('GET', '/api/v1/tasks/ghost')).status).toBe(404);
  });

  it('a JSON syntax error names the file, line and column; nothing is sent', async () => {
    const bad = writeFile(path.join(deploy, 'defs'), 'broken.json', '{\n  "cpu": "256",\n  "memory": "512"\n  "containerDefinitions": []\n}\n');
    const file = writeFile(
      deploy,
      'broken.yaml',
      'tasks:\n  - name: broken\n    run_environment: prod\n    task_definition_file: defs/broken.json\n',
    );
    const r = await berth(['apply', '-f', file], { env: { BERTH_URL: `http://127.0.0.1:${await unusedPort()}` } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}: tasks[0].task_definition_file: ${bad}:4:3: expected ',' or '}' after a property value, found '"'`);
    expect(r.stderr).not.toContain('cannot reach');
    expect((await t.request('GET', '/api/v1/tasks/broken')).status).toBe(404);
  });

  it("the server's issues inside a task definition from a file are reported at the file", async () => {
    writeFile(path.join(deploy, 'defs'), 'no-image.json', JSON.stringify({ containerDefinitions: [{ name: 'app' }] }));
    // prod is not in this file, so the server (not the CLI) checks the Task against it.
    const file = writeFile(
      deploy,
      'no-image.yaml',
      'tasks:\n  - name: imageless\n    run_environment: prod\n    task_definition_file: defs/no-image.json\n',
    );
    const r = await berth(['apply', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `${file}: tasks[0].task_definition_file: ${path.join(deploy, 'defs', 'no-image.json')}: containerDefinitions[0].image: every container needs an image`,
    );
    expect((await t.request('GET', '/api/v1/tasks/imageless')).status).toBe(404);
  });
});

describe('aws-ecs values are checked before anything is sent', () => {
  it('reports a bad subnet, a cpu Fargate does not offer and an ENV: secret, each with its path', async () => {
    const file = writeFile(
      files.dir,
      'bad-ecs.yaml',
      `run_environments:
  - name: staging
    kind: aws-ecs
    region: us-east-1
    cluster: berth
    subnets: [subnet-xyz]
    security_groups: [sg-0123456789abcdef0]
    execution_role_arn: arn:aws:iam::123456789012:role/exec
tasks:
  - name: staging-etl
    run_environment: staging
    image: busybox:1.36
    cpu: 300
    secrets:
      X: ENV:X
`,
    );
    const r = await berth(['apply', '-f', file], { env: { BERTH_URL: `http://127.0.0.1:${await unusedPort()}` } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: ${file} is invalid (3 problems); nothing was applied`);
    expect(r.stderr).toContain(`${file}: run_environments[0].subnets[0]: must be a subnet id such as subnet-0123456789abcdef0`);
    expect(r.stderr).toContain(`${file}: tasks[0].cpu: cpu 300 is not a Fargate size`);
    expect(r.stderr).toContain(`${file}: tasks[0].secrets.X: aws-ecs Tasks take Secrets Manager or SSM parameter ARNs`);
    expect(r.stderr).not.toContain('cannot reach');
    expect((await t.request('GET', '/api/v1/run_environments/staging')).status).toBe(404);
    expect((await t.request('GET', '/api/v1/tasks/staging-etl')).status).toBe(404);
  });

  it('a task_definition_file in a local Task is refused under that name', async () => {
    const file = writeFile(
      deploy,
      'local-td.yaml',
      'run_environments:\n  - name: local\n    kind: local\ntasks:\n  - name: local-td\n    run_environment: local\n    command: echo\n    task_definition_file: defs/etl.json\n',
    );
    const r = await berth(['apply', '-f', file], { env: { BERTH_URL: `http://127.0.0.1:${await unusedPort()}` } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}: tasks[0].task_definition_file: task_definition_file is for aws-ecs Run Environments`);
  });
});

describe('tasks, run environments and prune-revisions', () => {
  it('tasks show of an ECS task shows its image, ports, health check, sidecars and cpu/memory', async () => {
    const r = await berth(['tasks', 'show', 'api']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Image:\s+123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com\/api:1\.4$/m);
    expect(r.stdout).toMatch(/^Container name:\s+main {2}\(default\)$/m);
    expect(r.stdout).toMatch(/^Ports:\s+8080\/tcp$/m);
    expect(r.stdout).toMatch(/^Health check:\s+curl -f http:\/\/localhost:8080\/health \|\| exit 1 {2}\(shell\)$/m);
    expect(r.stdout).toMatch(/^\s+every 10 s, timeout 5 s, 3 retries, start period 0 s$/m);
    expect(r.stdout).toMatch(/^Sidecars:\s+envoy: public\.ecr\.aws\/appmesh\/aws-appmesh-envoy:v1\.27 {2}\(essential\)$/m);
    expect(r.stdout).toMatch(/^\s+xray: public\.ecr\.aws\/xray\/aws-xray-daemon:3\.3$/m);
    expect(r.stdout).toMatch(/^CPU:\s+512 units$/m);
    expect(r.stdout).not.toMatch(/^Task definition:/m);

    const etl = await berth(['tasks', 'show', 'etl']);
    expect(etl.stdout).toMatch(/^Image:\s+public\.ecr\.aws\/docker\/library\/python:3\.12 {2}\(from the task definition\)$/m);
    expect(etl.stdout).toMatch(/^Container name:\s+app {2}\(default\)$/m);
    expect(etl.stdout).toMatch(/^Task definition:\s+given \(3 fields\); containers: app, log-router$/m);
    expect(etl.stdout).toMatch(/^Memory:\s+1024 MiB {2}\(from the task definition\)$/m);

    // A local task shows none of it.
    await t.request('POST', '/api/v1/tasks', { name: 'plain', run_environment: 'local', command: 'true' });
    const plain = await berth(['tasks', 'show', 'plain']);
    expect(plain.stdout).not.toMatch(/^(Image|Sidecars|Task definition):/m);
    expect(plain.stdout).toMatch(/^CPU:\s+-$/m);
  });

  it('tasks ls has an IMAGE column only when a listed task has an image', async () => {
    const all = await berth(['tasks', 'ls']);
    expect(all.code).toBe(0);
    const lines = all.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+RUN ENVIRONMENT\s+ENABLED\s+IMAGE\s+COMMAND\s+TIMEOUT\s+RETRIES\s+SCHEDULE$/);
    expect(lines.find((l) => l.startsWith('api '))).toMatch(/^api\s+prod\s+yes\s+…\/api:1\.4\s+node server\.js\s/);
    expect(lines.find((l) => l.startsWith('etl '))).toMatch(/^etl\s+prod\s+yes\s+…\/docker\/library\/python:3\.12\s+-\s/);
    expect(lines.find((l) => l.startsWith('plain '))).toMatch(/^plain\s+local\s+yes\s+-\s+true\s/);
    const local = await berth(['tasks', 'ls', '--run-environment', 'local']);
    expect(local.stdout).toMatch(/^NAME\s+RUN ENVIRONMENT\s+ENABLED\s+COMMAND\s/);
  });

  it('envs show of an aws-ecs Run Environment spells out its settings and defaults', async () => {
    const r = await berth(['envs', 'show', 'prod']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Kind:\s+aws-ecs$/m);
    expect(r.stdout).toMatch(/^Subnets:\s+subnet-0123456789abcdef0$/m);
    expect(r.stdout).toMatch(/^Capacity:\s+FARGATE$/m);
    expect(r.stdout).toMatch(/^Log group:\s+\/berth\/prod {2}\(default\)$/m);
    expect(r.stdout).toMatch(/^Launch rate:\s+at most 20 RunTask calls per second \(bursts of 100\)$/m);
    expect(r.stdout).toMatch(/^Wrapper API URL:\s+https:\/\/berth\.example\.com$/m);
  });

  it('prune-revisions of a local task fails with the server\'s UNSUPPORTED_FOR_KIND; --keep 0 is a usage error', async () => {
    const [local, zero, word] = await Promise.all([
      berth(['tasks', 'prune-revisions', 'plain']),
      berth(['tasks', 'prune-revisions', 'api', '--keep', '0']),
      berth(['tasks', 'prune-revisions', 'api', '--keep', 'all']),
    ]);
    expect(local.code).toBe(1);
    expect(local.stderr).toMatch(/^error: Task "plain" runs in a local Run Environment, which registers no task definitions; there is nothing to prune\. \[UNSUPPORTED_FOR_KIND\]$/m);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('must be between 1 and 1000, got 0');
    expect(word.code).toBe(2);
    expect(word.stderr).toContain('must be a whole number');
  });
});
