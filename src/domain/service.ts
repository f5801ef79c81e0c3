/**
 * Services: Tasks with `service:` settings run as ECS services (a desired number of copies kept
 * running, optionally behind an Application Load Balancer). This module holds the settings'
 * schema, the rules checked before any AWS call, and the pure reading of a described service
 * (is the rollout done, failed, or still going; is it below its minimum).
 *
 * Glossary:
 * - desired count: how many copies ECS keeps running (autoscaling moves it between min and max).
 * - minimum healthy count: fewer running copies than this for longer than the grace period
 *   raises a SERVICE_BELOW_MINIMUM event; coming back raises SERVICE_RECOVERED.
 * - deployment: ECS replacing the copies of one task definition revision with another; its
 *   rollout state is IN_PROGRESS, COMPLETED or FAILED (the circuit breaker gave up).
 *
 * Pure: no I/O, no SDK.
 */
import { z } from 'zod';
import { formatPath } from './common.js';
import type { ValidationIssue } from './errors.js';

/** ALB security policies that allow TLS 1.2 and newer only (older ones allow TLS 1.0/1.1). */
export const TLS_POLICIES = [
  'ELBSecurityPolicy-TLS13-1-2-2021-06',
  'ELBSecurityPolicy-TLS13-1-2-Res-2021-06',
  'ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06',
  'ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06',
  'ELBSecurityPolicy-TLS13-1-3-2021-06',
  'ELBSecurityPolicy-TLS-1-2-2017-01',
  'ELBSecurityPolicy-TLS-1-2-Ext-2018-06',
  'ELBSecurityPolicy-FS-1-2-2019-08',
  'ELBSecurityPolicy-FS-1-2-Res-2019-08',
  'ELBSecurityPolicy-FS-1-2-Res-2020-10',
] as const;
/** The load balancer template takes this many allowed source ranges (AllowedCidr1…10). */
export const MAX_ALLOWED_CIDRS = 10;

export const DEFAULT_TLS_POLICY = 'ELBSecurityPolicy-TLS13-1-2-2021-06';

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** Why `text` is not an IPv4 CIDR block such as 203.0.113.7/32, or null when it is one. */
export function cidrProblem(text: string): string | null {
  const m = IPV4_CIDR.exec(text);
  if (!m) {
    return `"${text}" is not a CIDR block: write an IPv4 address and a prefix length, such as 203.0.113.7/32 (one address) or 10.0.0.0/16`;
  }
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255)) return `"${text}" is not a CIDR block: each of the four numbers of the address must be 0–255`;
  if (prefix > 32) return `"${text}" is not a CIDR block: the prefix length after "/" must be 0–32`;
  const address = octets.reduce((a, o) => a * 256 + o, 0);
  const hostBits = 2 ** (32 - prefix);
  if (address % hostBits !== 0) {
    const network = address - (address % hostBits);
    const base = [24, 16, 8, 0].map((s) => Math.floor(network / 2 ** s) % 256).join('.');
    return `"${text}" has host bits set after the /${prefix} prefix; AWS wants the network address: ${base}/${prefix}`;
  }
  return null;
}

const Cidr = z.string().superRefine((text, ctx) => {
  const problem = cidrProblem(text);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const count = (what: string, max: number) =>
  z
    .number({ message: `${what} must be a whole number` })
    .int({ message: `${what} must be a whole number` })
    .min(0, { message: `${what} must be 0 or more` })
    .max(max, { message: `${what} must be at most ${max}` });

const SubnetId = z.string().regex(/^subnet-[0-9a-f]{8,17}$/, { message: 'must be a subnet id such as subnet-0a1b2c3d4e5f60718' });

export const ServiceHealthCheck = z
  .strictObject({
    path: z
      .string()
      .max(1024)
      .superRefine((path, ctx) => {
        if (!path.startsWith('/')) {
          ctx.addIssue({ code: 'custom', message: `the health check path must start with "/" (the load balancer requests it as written): write "/${path}"` });
        }
      })
      .describe('HTTP path the load balancer requests, starting with "/". (Default: /)')
      .default('/'),
    interval_seconds: z.number().int().min(5).max(300).default(30).describe('Seconds between checks. (Default: 30)'),
    timeout_seconds: z.number().int().min(2).max(120).default(5).describe('Seconds before a check counts as failed. (Default: 5)'),
    healthy_threshold: z.number().int().min(2).max(10).default(3).describe('Passing checks in a row before a copy gets traffic. (Default: 3)'),
    unhealthy_threshold: z.number().int().min(2).max(10).default(3).describe('Failing checks in a row before a copy loses traffic. (Default: 3)'),
    matcher: z
      .string()
      .regex(/^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$/, { message: 'must be HTTP codes such as 200, 200-299 or 200,204' })
      .default('200-399')
      .describe('HTTP codes that count as healthy. (Default: 200-399)'),
  })
  .describe('The target group\'s health check.');

export const ServiceListener = z
  .strictObject({
    port: z.number().int().min(1).max(65535).default(443).describe('Port the load balancer listens on. (Default: 443)'),
    protocol: z.enum(['HTTPS', 'HTTP']).default('HTTPS').describe('HTTPS (needs certificate_arn) or HTTP. (Default: HTTPS)'),
    certificate_arn: z
      .string()
      .regex(/^arn:aws[a-z-]*:(acm|iam):[a-z0-9-]*:\d{12}:(certificate\/[A-Za-z0-9-]+|server-certificate\/.+)$/, {
        message: 'must be an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID) or an IAM server certificate ARN',
      })
      .optional()
      .describe('Certificate of the HTTPS listener (ACM or IAM).'),
    ssl_policy: z
      .enum(TLS_POLICIES, { message: `must be one of the TLS 1.2+ policies: ${TLS_POLICIES.join(', ')}` })
      .optional()
      .describe(`TLS policy of the HTTPS listener, TLS 1.2 or newer only. (Default: ${DEFAULT_TLS_POLICY})`),
  })
  .describe('The load balancer\'s listener.');

export const ServiceLoadBalancer = z
  .strictObject({
    container_name: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,255}$/, { message: 'must be letters, digits, "-" or "_"' })
      .optional()
      .describe('Container that receives the traffic. (Default: the Task\'s main container)'),
    container_port: z.number({ message: 'container_port must be a port number' }).int().min(1).max(65535).describe('Port of that container; must be in its port mappings.'),
    health_check: ServiceHealthCheck.default({ path: '/', interval_seconds: 30, timeout_seconds: 5, healthy_threshold: 3, unhealthy_threshold: 3, matcher: '200-399' }),
    health_check_grace_period_seconds: z
      .number()
      .int()
      .min(0)
      .max(2147483647)
      .default(60)
      .describe('Seconds ECS ignores failing load balancer health checks of a new copy. (Default: 60)'),
    listener: ServiceListener.default({ port: 443, protocol: 'HTTPS' }),
    allowed_cidrs: z
      .array(Cidr)
      .min(1, { message: 'give at least one CIDR block that may reach the load balancer, e.g. [203.0.113.7/32]' })
      .max(MAX_ALLOWED_CIDRS, { message: `at most ${MAX_ALLOWED_CIDRS} CIDR blocks (the load balancer template has one rule per block); merge neighbouring ranges` })
      .describe('Source addresses allowed to reach the listener (the only ingress of the load balancer\'s security group).'),
    scheme: z.enum(['internet-facing', 'internal']).default('internal').describe('internet-facing or internal. (Default: internal)'),
    subnets: z
      .array(SubnetId, {
        error: (issue) =>
          issue.input === undefined
            ? 'give subnets: the load balancer\'s subnets, in two or more availability zones (public ones for an internet-facing scheme)'
            : undefined,
      })
      .min(2, { message: 'an Application Load Balancer needs subnets in at least two availability zones' })
      .max(16)
      .describe('Subnets of the load balancer (public ones for internet-facing), in two or more zones.'),
    vpc_id: z
      .string()
      .regex(/^vpc-[0-9a-f]{8,17}$/, { message: 'must be a VPC id such as vpc-0a1b2c3d4e5f60718' })
      .optional()
      .describe('VPC of the subnets. (Default: looked up from the first subnet)'),
    dns: z
      .strictObject({
        hosted_zone_id: z.string().regex(/^Z[A-Z0-9]{1,31}$/, { message: 'must be a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ' }),
        name: z
          .string()
          .regex(/^(?=.{1,253}\.?$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\.?$/, {
            message: 'must be a DNS name such as api.example.com',
          }),
      })
      .optional()
      .describe('An alias record (A) in a Route 53 hosted zone that points at the load balancer.'),
  })
  .describe('Put the service behind an Application Load Balancer (infra/cloudformation/service-load-balancer.yaml).');

export const ServiceAutoscaling = z
  .strictObject({
    min_count: count('min_count', 10000),
    max_count: count('max_count', 10000),
    target_cpu_percent: z.number().min(1).max(100).optional().describe('Keep the average CPU utilisation near this.'),
    target_memory_percent: z.number().min(1).max(100).optional().describe('Keep the average memory utilisation near this.'),
    scale_in_cooldown_seconds: z.number().int().min(0).max(3600).default(300).describe('(Default: 300)'),
    scale_out_cooldown_seconds: z.number().int().min(0).max(3600).default(60).describe('(Default: 60)'),
  })
  .describe('Application Auto Scaling of the desired count (target tracking).');

export const ServiceSettings = z
  .strictObject({
    desired_count: count('desired_count', 10000).default(1).describe('Copies to keep running. (Default: 1)'),
    minimum_healthy_count: count('minimum_healthy_count', 10000)
      .optional()
      .describe('Fewer running copies than this for below_minimum_grace_seconds raises SERVICE_BELOW_MINIMUM. (Default: desired_count, or autoscaling.min_count)'),
    below_minimum_grace_seconds: z
      .number()
      .int()
      .min(0)
      .max(86400)
      .default(120)
      .describe('How long the running count may stay below the minimum (a rollout, a replaced copy) before the event. (Default: 120)'),
    deployment: z
      .strictObject({
        minimum_healthy_percent: z.number().int().min(0).max(100).default(100).describe('(Default: 100)'),
        maximum_percent: z.number().int().min(100).max(200).default(200).describe('(Default: 200)'),
        circuit_breaker: z.boolean().default(true).describe('Stop a deployment whose copies keep failing. (Default: true)'),
        rollback: z.boolean().default(true).describe('With the circuit breaker: go back to the last working revision. (Default: true)'),
      })
      .default({ minimum_healthy_percent: 100, maximum_percent: 200, circuit_breaker: true, rollback: true }),
    autoscaling: ServiceAutoscaling.optional(),
    load_balancer: ServiceLoadBalancer.optional(),
    assign_public_ip: z.boolean().optional().describe('(Default: the Run Environment\'s assign_public_ip)'),
    subnets: z.array(SubnetId).min(1).max(16).optional().describe('Subnets of the copies. (Default: the Run Environment\'s)'),
  })
  .describe('Run the Task as an ECS service: desired_count copies always running (aws-ecs only; docs/services.md).');
export type ServiceSettings = z.infer<typeof ServiceSettings>;
export type ServiceSettingsInput = z.input<typeof ServiceSettings>;

/** The running count below which the service raises SERVICE_BELOW_MINIMUM. */
export function minimumHealthyCount(service: ServiceSettings): number {
  return service.minimum_healthy_count ?? service.autoscaling?.min_count ?? service.desired_count;
}

/** The fields of a Task the service rules read. */
export interface ServiceTaskView {
  service?: ServiceSettings | undefined;
  passive: boolean;
  schedule: string | null;
  container_name?: string | undefined;
  image?: string | undefined;
  port_mappings?: { container_port: number }[] | undefined;
  task_definition?: Record<string, unknown> | undefined;
}

/** The name of the container Berth gives the Task's command (as task-definition.ts picks it). */
export function mainContainerName(task: ServiceTaskView): string {
  if (task.container_name) return task.container_name;
  if (task.image === undefined) {
    const defs = Array.isArray(task.task_definition?.containerDefinitions) ? (task.task_definition.containerDefinitions as Record<string, unknown>[]) : [];
    const first = defs.find((c) => c.essential !== false) ?? defs[0];
    if (typeof first?.name === 'string') return first.name;
  }
  return 'main';
}

/** Container ports of a container: the Task's own port_mappings for the main one, else its task definition's. */
export function containerPorts(task: ServiceTaskView, container: string): number[] | null {
  const main = mainContainerName(task);
  if (container === main && task.port_mappings !== undefined) return task.port_mappings.map((p) => p.container_port);
  const defs = Array.isArray(task.task_definition?.containerDefinitions) ? (task.task_definition.containerDefinitions as Record<string, unknown>[]) : [];
  const def = defs.find((c) => c.name === container);
  if (!def) return container === main ? [] : null;
  const mappings = Array.isArray(def.portMappings) ? (def.portMappings as Record<string, unknown>[]) : [];
  return mappings.map((m) => Number(m.containerPort)).filter((p) => Number.isInteger(p));
}

/**
 * Rules of a Task's `service:` settings that need more than one field, checked when the Task is
 * saved (apply, API) so every mistake is reported before any AWS call. `prefix` is where the Task
 * sits in the document (e.g. `['tasks', 2]`).
 */
export function checkServiceSettings(task: ServiceTaskView, prefix: (string | number)[] = []): ValidationIssue[] {
  const service = task.service;
  if (!service) return [];
  const issues: ValidationIssue[] = [];
  const at = (...path: (string | number)[]) => formatPath([...prefix, 'service', ...path]);
  const add = (path: string, message: string) => issues.push({ path, message, code: 'custom' });
  if (task.passive) add(formatPath([...prefix, 'passive']), 'a Service is started and kept running by Berth, so it cannot be passive; remove passive or service');
  if (task.schedule !== null) {
    add(formatPath([...prefix, 'schedule']), 'a Service runs all the time, so it takes no schedule; remove schedule (or service to run it as scheduled Task)');
  }
  if (service.minimum_healthy_count !== undefined && service.minimum_healthy_count > service.desired_count && !service.autoscaling) {
    add(at('minimum_healthy_count'), `minimum_healthy_count (${service.minimum_healthy_count}) cannot be more than desired_count (${service.desired_count})`);
  }
  const d = service.deployment;
  if (d.minimum_healthy_percent >= d.maximum_percent) {
    add(at('deployment', 'maximum_percent'), `maximum_percent (${d.maximum_percent}) must be more than minimum_healthy_percent (${d.minimum_healthy_percent}), or a deployment can neither start nor stop a copy`);
  }
  if (d.rollback && !d.circuit_breaker) add(at('deployment', 'rollback'), 'rollback needs circuit_breaker: true (the circuit breaker decides when to roll back)');
  const a = service.autoscaling;
  if (a) {
    if (a.min_count > a.max_count) add(at('autoscaling', 'max_count'), `max_count (${a.max_count}) must be at least min_count (${a.min_count})`);
    if (service.desired_count < a.min_count || service.desired_count > a.max_count) {
      add(at('desired_count'), `desired_count (${service.desired_count}) must be between autoscaling.min_count (${a.min_count}) and max_count (${a.max_count})`);
    }
    if (a.target_cpu_percent === undefined && a.target_memory_percent === undefined) {
      add(at('autoscaling'), 'give target_cpu_percent or target_memory_percent (or both): what autoscaling keeps steady');
    }
    if (service.minimum_healthy_count !== undefined && service.minimum_healthy_count > a.max_count) {
      add(at('minimum_healthy_count'), `minimum_healthy_count (${service.minimum_healthy_count}) cannot be more than autoscaling.max_count (${a.max_count})`);
    }
  }
  const lb = service.load_balancer;
  if (lb) {
    const l = lb.listener;
    if (l.protocol === 'HTTPS' && l.certificate_arn === undefined) {
      add(at('load_balancer', 'listener', 'certificate_arn'), 'an HTTPS listener needs certificate_arn (an ACM certificate for the DNS name clients use); or set protocol: HTTP');
    }
    if (l.protocol === 'HTTP' && l.certificate_arn !== undefined) {
      add(at('load_balancer', 'listener', 'certificate_arn'), 'certificate_arn is only for protocol: HTTPS');
    }
    if (l.protocol === 'HTTP' && l.ssl_policy !== undefined) add(at('load_balancer', 'listener', 'ssl_policy'), 'ssl_policy is only for protocol: HTTPS');
    if (lb.health_check.timeout_seconds >= lb.health_check.interval_seconds) {
      add(at('load_balancer', 'health_check', 'timeout_seconds'), `timeout_seconds (${lb.health_check.timeout_seconds}) must be less than interval_seconds (${lb.health_check.interval_seconds})`);
    }
    const container = lb.container_name ?? mainContainerName(task);
    const ports = containerPorts(task, container);
    if (ports === null) {
      add(at('load_balancer', 'container_name'), `no container named "${container}" in the task definition`);
    } else if (!ports.includes(lb.container_port)) {
      add(
        at('load_balancer', 'container_port'),
        ports.length === 0
          ? `container port ${lb.container_port} is not in the task definition: container "${container}" has no port mappings; add port_mappings: [{container_port: ${lb.container_port}}] (or portMappings in the task definition)`
          : `container port ${lb.container_port} is not in the task definition: container "${container}" maps ${ports.join(', ')}`,
      );
    }
    const seen = new Set<string>();
    lb.allowed_cidrs.forEach((cidr, i) => {
      if (seen.has(cidr)) add(at('load_balancer', 'allowed_cidrs', i), `"${cidr}" is listed twice`);
      seen.add(cidr);
    });
  }
  return issues;
}

/** One deployment of a described service (ECS's `deployments[]`, in Berth's words). */
export interface ServiceDeployment {
  id: string;
  /** PRIMARY (the newest), ACTIVE (being replaced) or INACTIVE. */
  status: string;
  task_definition: string;
  desired_count: number;
  running_count: number;
  pending_count: number;
  failed_tasks: number;
  /** IN_PROGRESS, COMPLETED or FAILED (null on deployments ECS gives none). */
  rollout_state: string | null;
  rollout_state_reason: string | null;
  created_at: string | null;
  updated_at: string | null;
}

/** What ECS says about a service, as Berth keeps and shows it. */
export interface ServiceObservation {
  /** ACTIVE, DRAINING, INACTIVE, or MISSING when ECS does not know it. */
  status: string;
  service_arn: string | null;
  task_definition: string | null;
  desired_count: number;
  running_count: number;
  pending_count: number;
  deployments: ServiceDeployment[];
  /** Newest first. */
  events: { created_at: string | null; message: string }[];
}

export type RolloutVerdict =
  | { state: 'in_progress'; message: string }
  | { state: 'stable'; message: string }
  | { state: 'failed'; message: string };

/**
 * Whether the deployment of `target` (a task definition ARN) is done: stable when the primary
 * deployment runs it, its rollout COMPLETED, one deployment is left and running = desired;
 * failed when its rollout FAILED or the circuit breaker rolled back to another revision.
 */
export function rolloutVerdict(service: ServiceObservation, target: string): RolloutVerdict {
  if (service.status === 'MISSING' || service.status === 'INACTIVE') {
    return { state: 'failed', message: `the ECS service is ${service.status === 'MISSING' ? 'gone' : 'INACTIVE'} (deleted outside Berth?)` };
  }
  const ours = service.deployments.find((d) => d.task_definition === target);
  const primary = service.deployments.find((d) => d.status === 'PRIMARY');
  const lastEvent = service.events[0]?.message;
  if (ours?.rollout_state === 'FAILED') {
    return { state: 'failed', message: `${ours.rollout_state_reason ?? 'the deployment failed'}${lastEvent ? ` (last service event: ${lastEvent})` : ''}` };
  }
  if (!ours && primary && primary.task_definition !== target) {
    return {
      state: 'failed',
      message: `the service went back to ${revisionOf(primary.task_definition)}${primary.rollout_state_reason ? `: ${primary.rollout_state_reason}` : ''}${lastEvent ? ` (last service event: ${lastEvent})` : ''}`,
    };
  }
  const counts = `${service.running_count} running, ${service.pending_count} pending, ${service.desired_count} desired`;
  if (
    ours &&
    ours.status === 'PRIMARY' &&
    (ours.rollout_state === 'COMPLETED' || ours.rollout_state === null) &&
    service.deployments.length === 1 &&
    service.running_count === service.desired_count
  ) {
    return { state: 'stable', message: `${revisionOf(target)} is deployed: ${counts}` };
  }
  return { state: 'in_progress', message: `${ours?.rollout_state ?? 'waiting for ECS'}: ${counts}` };
}

/** `family:revision` of a task definition ARN (the whole text when it is not one). */
export function revisionOf(taskDefinitionArn: string): string {
  const slash = taskDefinitionArn.lastIndexOf('/');
  return slash >= 0 ? taskDefinitionArn.slice(slash + 1) : taskDefinitionArn;
}

/** What Berth remembers of a Service's below-minimum spell. */
export interface BelowMinimumState {
  /** When the running count was first seen below the minimum; null when it is not below. */
  since: number | null;
  /** The dedupe key of the event recorded for this spell; null when none was recorded yet. */
  event: string | null;
}

export type BelowMinimumDecision =
  | { action: 'none'; state: BelowMinimumState }
  /** Record SERVICE_BELOW_DESIRED_COUNT with `key`, then keep `state`. */
  | { action: 'raise'; key: string; state: BelowMinimumState; running: number; minimum: number; since: number }
  /** Record the resolution of the event `key`. */
  | { action: 'resolve'; key: string; state: BelowMinimumState; running: number; minimum: number };

/**
 * One monitor observation of a Service against its minimum: below it for longer than the grace
 * period raises the event once per spell; back at or above it resolves that event. A Service
 * ECS does not know (never deployed, or deleted) counts as running nothing once it was deployed.
 */
export function decideBelowMinimum(input: {
  taskUuid: string;
  settings: ServiceSettings;
  observation: Pick<ServiceObservation, 'status' | 'running_count'>;
  deployed: boolean;
  state: BelowMinimumState;
  now: number;
}): BelowMinimumDecision {
  const minimum = minimumHealthyCount(input.settings);
  const known = input.observation.status !== 'MISSING' && input.observation.status !== 'INACTIVE';
  if (!known && !input.deployed) return { action: 'none', state: { since: null, event: null } };
  const running = known ? input.observation.running_count : 0;
  if (running >= minimum) {
    if (input.state.event) return { action: 'resolve', key: input.state.event, state: { since: null, event: null }, running, minimum };
    return { action: 'none', state: { since: null, event: null } };
  }
  const since = input.state.since ?? input.now;
  if (input.state.event === null && input.now - since >= input.settings.below_minimum_grace_seconds * 1000) {
    const key = `SERVICE_BELOW_DESIRED_COUNT:${input.taskUuid}:${since}`;
    return { action: 'raise', key, state: { since, event: key }, running, minimum, since };
  }
  return { action: 'none', state: { since, event: input.state.event } };
}
