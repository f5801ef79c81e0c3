/**
 * Test harness: a private moto server (AWS stand-in) per test file.
 *
 * moto (https://github.com/getmoto/moto) answers real AWS API calls from the JavaScript SDK. Each
 * test file that needs AWS starts its own moto with `startMoto()` in `beforeAll` and MUST call
 * `stop()` in `afterAll`; moto runs `test/fixtures/moto_server.py`, which adds a test-only
 * endpoint to edit ECS tasks (moto itself never reports failed tasks). See
 * docs: /work/shared/docs/aws-facts.md, "Testing against AWS APIs here: moto".
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DescribeSecurityGroupsCommand, DescribeSubnetsCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateClusterCommand, ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand } from '@aws-sdk/client-ecs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SCRIPT = path.resolve(HERE, '../fixtures/moto_server.py');

/** The Python interpreter that runs moto; `BERTH_TEST_PYTHON` overrides it for unusual machines. */
const PYTHON = process.env.BERTH_TEST_PYTHON ?? 'python3';

/** How long moto may take to answer after it is started (cold imports take a couple of seconds). */
const START_TIMEOUT_MS = 30_000;

/** How long `stop()` waits for SIGTERM before it sends SIGKILL. */
const STOP_GRACE_MS = 5_000;

/** Keep only the tail of moto's output: enough to explain a failure, never unbounded. */
const OUTPUT_LIMIT = 64 * 1024;

/**
 * How moto moves ECS tasks on through RUNNING → DEACTIVATING → STOPPING → DEPROVISIONING →
 * STOPPED (moto's "state manager", one setting per moto process).
 *
 * - `manual`: the status moves one step when a task has been included in `times` DescribeTasks
 *   calls; the describe that reaches `times` already shows the next status. moto's default is
 *   `{ progression: 'manual', times: 1 }`: the first describe after RunTask shows DEACTIVATING.
 *   Use `times: 2` to see RUNNING once.
 * - `immediate`: every task reads as STOPPED, even in the RunTask answer.
 * - `time`: one step every `seconds`, describes or not.
 */
export type TaskTransition =
  | { progression: 'manual'; times: number }
  | { progression: 'immediate' }
  | { progression: 'time'; seconds: number };

/** Epoch seconds or a Date; the edit endpoint takes epoch seconds. `null` removes the field. */
export type TaskTime = number | Date | null;

/**
 * What `editTask` can change on a task inside moto, so a later DescribeTasks returns it. moto never
 * produces these values itself (no non-zero exit code, no stopCode, no stoppedAt).
 */
export interface TaskEdit {
  /** The task's ARN or id, in any cluster, account or region. */
  task: string;
  /** e.g. STOPPED or PENDING. RUNNING/STOPPED also set every container's lastStatus. */
  lastStatus?: string;
  /** moto keeps RUNNING until StopTask; set STOPPED to look like a stopped task. */
  desiredStatus?: string;
  /** e.g. TaskFailedToStart, EssentialContainerExited, UserInitiated. */
  stopCode?: string;
  stoppedReason?: string;
  /** Set on every container; `null` leaves `exitCode` out of the answer. */
  exitCode?: number | null;
  /** The containers' `reason`, e.g. `OutOfMemoryError: Container killed due to memory usage`. */
  containerReason?: string | null;
  /** `[]` makes DescribeTasks answer `containers: []`, as for a task that failed to start. */
  containers?: [];
  pullStartedAt?: TaskTime;
  startedAt?: TaskTime;
  stoppedAt?: TaskTime;
}

/** What the edit endpoint answers: the task as moto now holds it. */
export interface EditedTask {
  taskArn: string;
  lastStatus: string;
  desiredStatus: string;
  stopCode: string | null;
  stoppedReason: string;
  containers: { name: string; lastStatus: string; exitCode: number | null; reason: string | null }[];
}

/**
 * What `editService` can change on a service inside moto. moto never starts a service's tasks,
 * keeps runningCount at 0 (unless MOTO_ECS_SERVICE_RUNNING is set) and never updates the
 * deployments after UpdateService; a test sets them as ECS would during a rollout.
 */
export interface ServiceEdit {
  /** The service's ARN or name. */
  service: string;
  runningCount?: number;
  pendingCount?: number;
  /** Replaces the service's deployments (ids and times are filled in). */
  deployments?: {
    status: 'PRIMARY' | 'ACTIVE';
    taskDefinition: string;
    rolloutState?: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
    rolloutStateReason?: string;
    runningCount?: number;
    pendingCount?: number;
    desiredCount?: number;
    failedTasks?: number;
  }[];
  /** A service event to add (newest first), e.g. "(service web) has reached a steady state." */
  event?: string;
}

export interface EditedService {
  serviceArn: string;
  runningCount: number;
  pendingCount: number;
  desiredCount: number;
  taskDefinition: string | null;
  deployments: number;
}

/** A running private moto server. */
export interface Moto {
  /** `http://127.0.0.1:PORT`: the `endpoint` for SDK clients (or for `startAwsProxy`). */
  endpoint: string;
  /** The Python process id (also its process group id). */
  pid: number;
  /**
   * Clears all of moto's state (POST /moto-api/reset) AND restores the default ECS task transition,
   * which moto's own reset keeps. The default VPC comes back with new ids: call `defaultNetwork`
   * again afterwards.
   */
  reset(): Promise<void>;
  /** Sets how ECS tasks move on; see `TaskTransition`. Stays in force until unset or `reset()`. */
  setTaskTransition(transition: TaskTransition): Promise<void>;
  /** Restores moto's default ECS task transition (`manual`, `times: 1`). */
  unsetTaskTransition(): Promise<void>;
  /** Edits a task inside moto (test-only endpoint); throws on an unknown task or a bad field. */
  editTask(edit: TaskEdit): Promise<EditedTask>;
  /** Plays ECS's part in a service deployment (test-only endpoint); see `ServiceEdit`. */
  editService(edit: ServiceEdit): Promise<EditedService>;
  /** The tail of moto's stdout/stderr, for failure messages. */
  output(): string;
  /** Kills moto's whole process group and waits until it has exited. Idempotent. */
  stop(): Promise<void>;
}

/** The network a Fargate RunTask needs, from moto's default VPC. */
export interface DefaultNetwork {
  vpcId: string;
  subnets: string[];
  securityGroups: string[];
}

/** SDK client settings that point at moto (or at a proxy in front of it). */
export interface AwsTestConfig {
  region: string;
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

let available: Promise<boolean> | undefined;

/**
 * Whether python3 with moto's server can run here, so a suite can `describe.runIf(...)`. Locally a
 * missing moto skips; in CI (`CI=true`) it throws, so AWS tests are never skipped silently there.
 */
export function motoAvailable(): Promise<boolean> {
  available ??= (async () => {
    const probe = spawnSync(PYTHON, ['-c', 'import moto.moto_server.werkzeug_app, moto.ecs.models, werkzeug.serving'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (probe.status === 0) return true;
    const why = probe.error ? String(probe.error) : (probe.stderr || `exit ${String(probe.status)}`).trim().split('\n').slice(-3).join('\n');
    if (process.env.CI === 'true') {
      throw new Error(`moto is required in CI but "${PYTHON}" cannot import moto's server (pip install 'moto[server]==5.2.1'): ${why}`);
    }
    return false;
  })();
  return available;
}

/** SDK client config for moto or the proxy: fixed region, dummy credentials (moto checks none). */
export function awsTestConfig(endpoint: string): AwsTestConfig {
  return { region: 'us-east-1', endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
}

/**
 * The default VPC's id, its subnets and its `default` security group, as a Fargate RunTask needs
 * them (moto answers HTTP 500 to RunTask without `securityGroups`). Ids change after `reset()`.
 */
/**
 * What real ECS reports when a task's essential container exits: the task STOPPED with
 * EssentialContainerExited and the container's exit code (`null` leaves it out, as when ECS has
 * none). `extra` overrides any field.
 */
export function containerExited(moto: Moto, task: string, exitCode: number | null, extra: Partial<TaskEdit> = {}): Promise<EditedTask> {
  return moto.editTask({
    task,
    lastStatus: 'STOPPED',
    desiredStatus: 'STOPPED',
    stopCode: 'EssentialContainerExited',
    stoppedReason: 'Essential container in task exited',
    exitCode,
    startedAt: new Date(Date.now() - 1000),
    stoppedAt: new Date(),
    ...extra,
  });
}

export async function defaultNetwork(endpoint: string): Promise<DefaultNetwork> {
  const ec2 = new EC2Client(awsTestConfig(endpoint));
  try {
    const vpcs = await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'isDefault', Values: ['true'] }] }));
    const vpcId = vpcs.Vpcs?.[0]?.VpcId;
    if (!vpcId) throw new Error(`moto at ${endpoint} has no default VPC`);
    const subnets = await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }));
    const groups = await ec2.send(
      new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }, { Name: 'group-name', Values: ['default'] }] }),
    );
    const subnetIds = (subnets.Subnets ?? []).map((s) => s.SubnetId).filter((id): id is string => !!id);
    const groupIds = (groups.SecurityGroups ?? []).map((g) => g.GroupId).filter((id): id is string => !!id);
    if (subnetIds.length === 0 || groupIds.length === 0) throw new Error(`moto's default VPC ${vpcId} has no subnets or no default security group`);
    return { vpcId, subnets: subnetIds, securityGroups: groupIds };
  } finally {
    ec2.destroy();
  }
}

/** A port nobody listens on right now (the OS picks it; moto binds it a moment later). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Sends a signal to the whole process group; the group may already be gone. */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: already exited.
  }
}

async function request(endpoint: string, method: 'GET' | 'POST', p: string, body?: unknown): Promise<{ status: number; text: string }> {
  const response = await fetch(`${endpoint}${p}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, text: await response.text() };
}

async function expectOk(what: string, result: Promise<{ status: number; text: string }>): Promise<string> {
  const { status, text } = await result;
  if (status < 200 || status >= 300) throw new Error(`moto ${what} answered HTTP ${status}: ${text.slice(0, 500)}`);
  return text;
}

function epochSeconds(value: TaskTime): number | null {
  return value instanceof Date ? value.getTime() / 1000 : value;
}

/** One attempt on one port; rejects with moto's output when it exits or never answers. */
async function launch(port: number): Promise<Moto> {
  // detached: moto leads its own process group, so stop() can kill it and anything it spawns.
  // stdin stays a pipe: moto_server.py exits when it closes, i.e. when this process dies.
  const child = spawn(PYTHON, [SCRIPT, String(port)], {
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  let out = '';
  const collect = (chunk: Buffer) => {
    out = (out + chunk.toString()).slice(-OUTPUT_LIMIT);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  child.stdin!.on('error', () => undefined); // EPIPE once moto is gone
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));

  const endpoint = `http://127.0.0.1:${port}`;
  const pid = child.pid;
  const stop = async (): Promise<void> => {
    if (pid !== undefined && alive(child)) {
      killGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
      // The leader is gone; make sure nothing else in its group survives it.
      killGroup(pid, 'SIGKILL');
    } else if (!spawnError) {
      await exited;
    }
    child.stdin!.destroy();
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (spawnError || pid === undefined) throw new Error(`cannot start ${PYTHON} ${SCRIPT}: ${String(spawnError)}`);
    if (!alive(child)) {
      await exited;
      throw new Error(`moto on port ${port} exited with ${String(child.exitCode ?? child.signalCode)} before answering:\n${out}`);
    }
    try {
      const { status } = await request(endpoint, 'GET', '/moto-api/state-manager/get-transition?model_name=ecs::task');
      if (status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`moto on port ${port} did not answer within ${START_TIMEOUT_MS} ms:\n${out}`);
    }
    await delay(50);
  }

  const setTransition = (transition: TaskTransition) =>
    expectOk('set-transition', request(endpoint, 'POST', '/moto-api/state-manager/set-transition', { model_name: 'ecs::task', transition })).then(
      () => undefined,
    );
  const unsetTransition = () =>
    expectOk('unset-transition', request(endpoint, 'POST', '/moto-api/state-manager/unset-transition', { model_name: 'ecs::task' })).then(
      () => undefined,
    );

  return {
    endpoint,
    pid,
    reset: async () => {
      await expectOk('reset', request(endpoint, 'POST', '/moto-api/reset'));
      await unsetTransition();
    },
    setTaskTransition: setTransition,
    unsetTaskTransition: unsetTransition,
    editTask: async (edit) => {
      const body: Record<string, unknown> = { ...edit };
      for (const key of ['pullStartedAt', 'startedAt', 'stoppedAt'] as const) {
        if (edit[key] !== undefined) body[key] = epochSeconds(edit[key]);
      }
      return JSON.parse(await expectOk(`edit of task ${edit.task}`, request(endpoint, 'POST', '/berth-test/ecs/task', body))) as EditedTask;
    },
    editService: async (edit) =>
      JSON.parse(await expectOk(`edit of service ${edit.service}`, request(endpoint, 'POST', '/berth-test/ecs/service', edit))) as EditedService,
    output: () => out,
    stop,
  };
}

/**
 * Starts a private moto server on a free port and waits until it answers. Call `stop()` in
 * `afterAll` (a test process that dies takes moto with it, but a live one would keep it).
 */
export async function startMoto(): Promise<Moto> {
  let lastError: unknown;
  // Another process can take the port between `freePort` and moto's bind: try a few ports.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await launch(await freePort());
    } catch (error) {
      lastError = error;
      if (!/Address already in use|in use by another program/i.test(String(error))) throw error;
    }
  }
  throw lastError;
}

/** What most aws-ecs suites start from: see `startEcsAccount`. */
export interface EcsAccount {
  moto: Moto;
  net: DefaultNetwork;
  /** An ECS client on moto that does not retry (the caller destroys it). */
  ecs: ECSClient;
}

/**
 * Starts moto for a suite that runs Tasks on ECS: the AWS variables the SDK's default credential
 * chain reads (in the server too; moto checks no signature), ECS tasks that stay RUNNING until a
 * test ends them, the default network, and the cluster `cluster`.
 */
export async function startEcsAccount(cluster = 'berth'): Promise<EcsAccount> {
  process.env.AWS_ACCESS_KEY_ID = 'testing';
  process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  const moto = await startMoto();
  try {
    await moto.setTaskTransition({ progression: 'manual', times: 1_000_000 });
    const network = await defaultNetwork(moto.endpoint);
    const ecs = new ECSClient({ ...awsTestConfig(moto.endpoint), maxAttempts: 1 });
    await ecs.send(new CreateClusterCommand({ clusterName: cluster }));
    return { moto, net: network, ecs };
  } catch (error) {
    await moto.stop();
    throw error;
  }
}

/**
 * Starts `count` Fargate tasks in moto directly (ten per RunTask, which moto allows), for tests
 * and benchmarks that need many running tasks; returns their ARNs and the definition's ARN.
 */
export async function runBulkTasks(
  endpoint: string,
  options: { cluster: string; subnets: string[]; securityGroups: string[]; count: number; family?: string },
): Promise<{ taskArns: string[]; taskDefinitionArn: string }> {
  const ecs = new ECSClient({ ...awsTestConfig(endpoint), maxAttempts: 1 });
  try {
    const td = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: options.family ?? 'bulk',
        networkMode: 'awsvpc',
        requiresCompatibilities: ['FARGATE'],
        cpu: '256',
        memory: '512',
        containerDefinitions: [{ name: 'main', image: 'x', memoryReservation: 512 }],
      }),
    );
    const taskDefinitionArn = td.taskDefinition!.taskDefinitionArn!;
    const taskArns: string[] = [];
    while (taskArns.length < options.count) {
      const run = await ecs.send(
        new RunTaskCommand({
          cluster: options.cluster,
          taskDefinition: taskDefinitionArn,
          count: Math.min(10, options.count - taskArns.length),
          launchType: 'FARGATE',
          networkConfiguration: { awsvpcConfiguration: { subnets: options.subnets, securityGroups: options.securityGroups } },
        }),
      );
      taskArns.push(...(run.tasks ?? []).map((t) => t.taskArn!));
    }
    return { taskArns, taskDefinitionArn };
  } finally {
    ecs.destroy();
  }
}
