/**
 * Rules for a Task that runs in an aws-ecs Run Environment, checked when it is saved (apply, API)
 * so that mistakes surface before any AWS call. Pure: no SDK here.
 */
import { checkFargateSize } from './aws.js';
import { formatPath } from './common.js';
import type { ValidationIssue } from './errors.js';
import { toEventBridgeExpression } from './eventbridge-schedule.js';
import type { AwsEcsRunEnvironmentSpec } from './run-environment.js';
import { isAwsSecretRef } from './secret-ref.js';
import { checkServiceSettings } from './service.js';
import type { TaskSpec } from './task.js';

/** Fargate's smallest size, used when neither the Task nor its task definition gives one. */
export const DEFAULT_FARGATE_CPU = 256;
export const DEFAULT_FARGATE_MEMORY = 512;

const ECS_ONLY_FIELDS = ['image', 'container_name', 'port_mappings', 'health_check', 'sidecars', 'task_definition', 'task_definition_file', 'service'] as const;

function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return undefined;
}

/** The cpu and memory a Task will get on Fargate: its own, else its task definition's, else the smallest size. */
export function effectiveFargateSize(task: Pick<TaskSpec, 'cpu' | 'memory' | 'task_definition'>): { cpu: number; memory: number } {
  const td = task.task_definition ?? {};
  return {
    cpu: task.cpu ?? numberOf(td.cpu) ?? DEFAULT_FARGATE_CPU,
    memory: task.memory ?? numberOf(td.memory) ?? DEFAULT_FARGATE_MEMORY,
  };
}

/** Issues of a Task in a local Run Environment: the aws-ecs fields make no sense there. */
export function checkLocalTask(task: TaskSpec, prefix: (string | number)[] = []): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const field of ECS_ONLY_FIELDS) {
    if (task[field] !== undefined) {
      issues.push({
        path: formatPath([...prefix, field]),
        message: `${field} is for aws-ecs Run Environments; Run Environment "${task.run_environment}" is local (it runs command on the Berth host)`,
        code: 'custom',
      });
    }
  }
  if (!task.passive && task.command === undefined) {
    issues.push({ path: formatPath([...prefix, 'command']), message: 'a local Task needs a command', code: 'custom' });
  }
  for (const [name, ref] of Object.entries(task.secrets)) {
    if (isAwsSecretRef(ref)) {
      issues.push({
        path: formatPath([...prefix, 'secrets', name]),
        message: `Run Environment "${task.run_environment}" is local and cannot read AWS secrets; use ENV:NAME or FILE:/path`,
        code: 'custom',
      });
    }
  }
  return issues;
}

/** Issues of a Task in an aws-ecs Run Environment. */
export function checkEcsTask(task: TaskSpec, env: AwsEcsRunEnvironmentSpec, prefix: (string | number)[] = []): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const at = (...path: (string | number)[]) => formatPath([...prefix, ...path]);
  if (env.schedules === 'eventbridge' && !task.passive && typeof task.schedule === 'string') {
    const converted = toEventBridgeExpression(task.schedule);
    if (!converted.ok) {
      issues.push({
        path: at('schedule'),
        message: `Run Environment "${env.name}" keeps schedules as EventBridge rules: ${converted.error}`,
        code: 'custom',
      });
    }
  }
  if (task.task_definition_file !== undefined) {
    issues.push({
      path: at('task_definition_file'),
      message: 'task_definition_file is read by berth apply (relative to the berth.yaml); through the API, send the JSON itself as task_definition',
      code: 'custom',
    });
  }
  for (const [name, ref] of Object.entries(task.secrets)) {
    if (!isAwsSecretRef(ref)) {
      issues.push({
        path: at('secrets', name),
        message: 'aws-ecs Tasks take Secrets Manager or SSM parameter ARNs (ECS reads them at launch); ENV: and FILE: are for local Run Environments',
        code: 'custom',
      });
    }
  }
  if (task.working_directory !== undefined && !task.working_directory.startsWith('/')) {
    issues.push({ path: at('working_directory'), message: 'must be an absolute path inside the container', code: 'custom' });
  }
  const td = task.task_definition;
  let containers: Record<string, unknown>[] = [];
  if (td !== undefined) {
    const defs = td.containerDefinitions;
    if (defs !== undefined && (!Array.isArray(defs) || defs.some((c) => typeof c !== 'object' || c === null))) {
      issues.push({ path: at('task_definition', 'containerDefinitions'), message: 'must be a list of container definitions', code: 'custom' });
    } else if (Array.isArray(defs)) {
      containers = defs as Record<string, unknown>[];
      containers.forEach((c, i) => {
        if (typeof c.name !== 'string' || c.name === '') {
          issues.push({ path: at('task_definition', 'containerDefinitions', i, 'name'), message: 'every container needs a name', code: 'custom' });
        }
        if (typeof c.image !== 'string' && !(task.image !== undefined && c.name === (task.container_name ?? c.name))) {
          issues.push({ path: at('task_definition', 'containerDefinitions', i, 'image'), message: 'every container needs an image', code: 'custom' });
        }
      });
    }
    if (td.networkMode !== undefined && td.networkMode !== 'awsvpc') {
      issues.push({
        path: at('task_definition', 'networkMode'),
        message: 'Fargate needs networkMode awsvpc (Berth sets it; remove this or set awsvpc)',
        code: 'custom',
      });
    }
  }
  if (!task.passive && task.image === undefined && containers.length === 0) {
    issues.push({
      path: at('image'),
      message: 'an aws-ecs Task needs an image, or a task_definition with containerDefinitions',
      code: 'custom',
    });
  }
  if (task.container_name !== undefined && task.image === undefined && containers.length > 0 && !containers.some((c) => c.name === task.container_name)) {
    issues.push({
      path: at('container_name'),
      message: `no container named "${task.container_name}" in task_definition.containerDefinitions`,
      code: 'custom',
    });
  }
  // A Service's rules (load balancer, counts, container port) are checked here too, before any AWS call.
  issues.push(...checkServiceSettings(task, prefix));
  if (task.service?.load_balancer && env.security_groups.length >= 5) {
    issues.push({
      path: at('service', 'load_balancer'),
      message: `a load-balanced Service's tasks get the load balancer stack's security group as well as the Run Environment's, and ECS allows 5; Run Environment "${env.name}" already has ${env.security_groups.length}`,
      code: 'custom',
    });
  }
  const { cpu, memory } = effectiveFargateSize(task);
  const sizeProblem = checkFargateSize(cpu, memory, env.platform_version);
  if (sizeProblem) {
    const field = fargateCpuProblem(sizeProblem) ? 'cpu' : 'memory';
    issues.push({ path: at(field), message: sizeProblem, code: 'custom' });
  }
  return issues;
}

function fargateCpuProblem(message: string): boolean {
  return message.startsWith('cpu ');
}
