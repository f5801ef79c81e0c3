/**
 * Builds the ECS task definition for a Task, and the hash that lets Berth reuse an unchanged
 * revision instead of registering one per run. Pure: the same Task and Run Environment always
 * give the same definition and the same hash.
 */
import { createHash } from 'node:crypto';
import type { ContainerDefinition, RegisterTaskDefinitionCommandInput } from '@aws-sdk/client-ecs';
import { effectiveFargateSize } from '../../domain/ecs-task.js';
import type { AwsEcsRunEnvironmentSpec } from '../../domain/run-environment.js';
import type { TaskSpec } from '../../domain/task.js';

/** The tag holding the definition's content hash. */
export const HASH_TAG = 'berth:definition-hash';

export interface BuiltDefinition {
  family: string;
  /** What to register (tags included). */
  input: RegisterTaskDefinitionCommandInput;
  /** sha256 of the definition without its tags, hex. */
  hash: string;
  /** The container that gets the Task's command, environment and the per-run overrides. */
  mainContainer: string;
  logGroup: string;
  logStreamPrefix: string;
}

/** Default log group of a Run Environment. */
export function logGroupOf(env: AwsEcsRunEnvironmentSpec): string {
  return env.log_group ?? `/berth/${env.name}`;
}

/** The task definition family of a Task. */
export function familyOf(env: AwsEcsRunEnvironmentSpec, taskName: string): string {
  return `${env.task_definition_prefix}${taskName}`.slice(0, 255);
}

function toKeyValues(map: Record<string, string>) {
  return Object.entries(map)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => ({ name, value }));
}

function toSecrets(map: Record<string, string>) {
  return Object.entries(map)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, valueFrom]) => ({ name, valueFrom }));
}

/** JSON with object keys sorted, so equal content always serialises the same way. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function mergeByName<T extends { name?: string | undefined }>(base: T[] | undefined, over: T[]): T[] {
  const out = new Map<string, T>();
  for (const item of base ?? []) if (item.name) out.set(item.name, item);
  for (const item of over) if (item.name) out.set(item.name, item);
  return [...out.values()].sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''));
}

/**
 * The definition for `task` in `env`: the Task's raw `task_definition` (if any) as the base,
 * Berth's fields laid over it, and what Fargate and Berth need set (family, awsvpc, FARGATE,
 * cpu/memory, roles, awslogs on every container, tags).
 */
export function buildTaskDefinition(task: TaskSpec, env: AwsEcsRunEnvironmentSpec): BuiltDefinition {
  const family = familyOf(env, task.name);
  const logGroup = logGroupOf(env);
  const base = (task.task_definition ?? {}) as Partial<RegisterTaskDefinitionCommandInput>;
  const baseContainers = (base.containerDefinitions ?? []) as ContainerDefinition[];
  const mainName =
    task.container_name ??
    (task.image === undefined ? (baseContainers.find((c) => c.essential !== false)?.name ?? baseContainers[0]?.name) : undefined) ??
    'main';
  const { cpu, memory } = effectiveFargateSize(task);

  const logConfiguration = (name: string) => ({
    logDriver: 'awslogs' as const,
    options: {
      'awslogs-group': logGroup,
      'awslogs-region': env.region,
      'awslogs-stream-prefix': env.log_stream_prefix,
    },
    // Keep a user's own log configuration if the base definition had one for this container.
    ...(baseContainers.find((c) => c.name === name)?.logConfiguration ?? {}),
  });

  const sidecars: ContainerDefinition[] = (task.sidecars ?? []).map((s) => ({
    name: s.name,
    image: s.image,
    essential: s.essential,
    ...(s.command ? { command: s.command } : {}),
    environment: toKeyValues(s.environment),
    secrets: toSecrets(s.secrets),
    portMappings: s.port_mappings.map((p) => ({ containerPort: p.container_port, protocol: p.protocol })),
    ...(s.memory_reservation !== undefined ? { memoryReservation: s.memory_reservation } : {}),
  }));

  const baseMain = baseContainers.find((c) => c.name === mainName);
  const secrets: Record<string, string> = { ...env.secrets, ...task.secrets };
  if (env.api_key_secret) secrets.PROC_WRAPPER_API_KEY = env.api_key_secret;
  const environment: Record<string, string> = { ...env.environment, ...task.environment };
  if (env.api_url) environment.PROC_WRAPPER_API_BASE_URL = env.api_url;
  environment.BERTH_TASK_NAME = task.name;

  const main: ContainerDefinition = {
    ...(baseMain ?? {}),
    name: mainName,
    essential: true,
    ...(task.image !== undefined ? { image: task.image } : {}),
    ...(task.command !== undefined
      ? typeof task.command === 'string'
        ? { entryPoint: ['/bin/sh', '-c'], command: [task.command] }
        : { command: task.command }
      : {}),
    ...(task.working_directory !== undefined ? { workingDirectory: task.working_directory } : {}),
    environment: mergeByName(baseMain?.environment, toKeyValues(environment)),
    secrets: mergeByName(baseMain?.secrets, toSecrets(secrets)),
    ...(task.port_mappings !== undefined
      ? { portMappings: task.port_mappings.map((p) => ({ containerPort: p.container_port, protocol: p.protocol })) }
      : {}),
    ...(task.health_check !== undefined
      ? {
          healthCheck: {
            command: task.health_check.command,
            interval: task.health_check.interval_seconds,
            timeout: task.health_check.timeout_seconds,
            retries: task.health_check.retries,
            startPeriod: task.health_check.start_period_seconds,
          },
        }
      : {}),
  };

  const others = baseContainers.filter((c) => c.name !== mainName && !sidecars.some((s) => s.name === c.name));
  const containers = [main, ...others, ...sidecars].map((c) => ({ ...c, logConfiguration: logConfiguration(c.name!) }));
  // Fargate needs no per-container memory, but a container without one may use the whole task;
  // give the main container a soft limit of what the others leave (moto also requires one).
  const reserved = containers
    .filter((c) => c.name !== mainName)
    .reduce((sum, c) => sum + (c.memoryReservation ?? c.memory ?? 0), 0);
  if (main.memory === undefined && main.memoryReservation === undefined) {
    containers[0] = { ...containers[0]!, memoryReservation: Math.max(4, memory - reserved) };
  }

  const definition: RegisterTaskDefinitionCommandInput = {
    ...base,
    family,
    networkMode: 'awsvpc',
    requiresCompatibilities: ['FARGATE'],
    cpu: String(cpu),
    memory: String(memory),
    executionRoleArn: env.execution_role_arn,
    ...(env.task_role_arn ? { taskRoleArn: env.task_role_arn } : {}),
    containerDefinitions: containers,
  };
  delete (definition as { tags?: unknown }).tags;
  const hash = createHash('sha256').update(canonicalJson(definition)).digest('hex');
  const tags = [
    ...Object.entries(env.tags).map(([key, value]) => ({ key, value })),
    { key: 'berth:task', value: task.name.slice(0, 256) },
    { key: 'berth:run-environment', value: env.name.slice(0, 256) },
    { key: HASH_TAG, value: hash },
  ];
  return {
    family,
    input: { ...definition, tags },
    hash,
    mainContainer: mainName,
    logGroup,
    logStreamPrefix: env.log_stream_prefix,
  };
}
