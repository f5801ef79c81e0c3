import { describe, expect, it } from 'vitest';
import { formatIssues } from './common.js';
import { checkEcsTask } from './ecs-task.js';
import { AwsEcsRunEnvironmentSpec } from './run-environment.js';
import { cidrProblem, decideBelowMinimum, minimumHealthyCount, rolloutVerdict, ServiceSettings } from './service.js';
import type { ServiceObservation } from './service.js';
import { TaskSpec } from './task.js';

const ENV = AwsEcsRunEnvironmentSpec.parse({
  name: 'prod',
  kind: 'aws-ecs',
  region: 'eu-west-1',
  cluster: 'berth',
  subnets: ['subnet-0a1b2c3d4e5f60718'],
  security_groups: ['sg-0123456789abcdef0'],
  execution_role_arn: 'arn:aws:iam::123456789012:role/berth-task-execution',
});
const CERT = 'arn:aws:acm:eu-west-1:123456789012:certificate/0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f';

function loadBalancer(extra: Record<string, unknown> = {}, listener: Record<string, unknown> = { certificate_arn: CERT }) {
  return {
    container_port: 8080,
    allowed_cidrs: ['203.0.113.7/32'],
    subnets: ['subnet-0a1b2c3d4e5f60718', 'subnet-0f1e2d3c4b5a69788'],
    listener,
    health_check: { path: '/healthz' },
    ...extra,
  };
}

/** Every problem of a Task as `path: message` lines: the schema's, then the aws-ecs rules'. */
function problems(task: Record<string, unknown>): string[] {
  const parsed = TaskSpec.safeParse({ name: 'web', run_environment: 'prod', image: 'nginx:1.27', port_mappings: [{ container_port: 8080 }], ...task });
  if (!parsed.success) return formatIssues(parsed.error).map((i) => `${i.path}: ${i.message}`);
  return checkEcsTask(parsed.data, ENV).map((i) => `${i.path}: ${i.message}`);
}

describe('service settings', () => {
  it('says what to give when the load balancer has no subnets', () => {
    const { subnets: _subnets, ...withoutSubnets } = loadBalancer();
    expect(problems({ service: { desired_count: 2, load_balancer: withoutSubnets } })).toEqual([
      "service.load_balancer.subnets: give subnets: the load balancer's subnets, in two or more availability zones (public ones for an internet-facing scheme)",
    ]);
  });

  it('accepts a load-balanced service and fills in the defaults', () => {
    expect(problems({ service: { desired_count: 2, load_balancer: loadBalancer() } })).toEqual([]);
    const parsed = ServiceSettings.parse({ desired_count: 2, load_balancer: loadBalancer() });
    expect(parsed.deployment).toEqual({ minimum_healthy_percent: 100, maximum_percent: 200, circuit_breaker: true, rollback: true });
    expect(parsed.load_balancer!.listener).toEqual({ port: 443, protocol: 'HTTPS', certificate_arn: CERT });
    expect(parsed.load_balancer!.health_check).toMatchObject({ path: '/healthz', interval_seconds: 30, healthy_threshold: 3, matcher: '200-399' });
    expect(parsed.load_balancer!.scheme).toBe('internal');
    expect(minimumHealthyCount(parsed)).toBe(2);
    expect(minimumHealthyCount(ServiceSettings.parse({ desired_count: 4, minimum_healthy_count: 3 }))).toBe(3);
  });

  it('rejects a CIDR that is not a CIDR, naming the entry and the fix', () => {
    expect(problems({ service: { load_balancer: loadBalancer({ allowed_cidrs: ['203.0.113.7/32', 'my-office'] }) } })).toEqual([
      'service.load_balancer.allowed_cidrs[1]: "my-office" is not a CIDR block: write an IPv4 address and a prefix length, such as 203.0.113.7/32 (one address) or 10.0.0.0/16',
    ]);
    expect(cidrProblem('203.0.113.7')).toContain('is not a CIDR block');
    expect(cidrProblem('300.0.113.7/32')).toContain('0–255');
    expect(cidrProblem('10.0.0.0/33')).toContain('0–32');
    expect(cidrProblem('10.0.0.1/16')).toBe('"10.0.0.1/16" has host bits set after the /16 prefix; AWS wants the network address: 10.0.0.0/16');
    expect(cidrProblem('0.0.0.0/0')).toBeNull();
    expect(problems({ service: { load_balancer: loadBalancer({ allowed_cidrs: [] }) } })[0]).toContain('give at least one CIDR block');
  });

  it('rejects an HTTPS listener without a certificate, and TLS settings on HTTP', () => {
    expect(problems({ service: { load_balancer: loadBalancer({}, {}) } })).toEqual([
      'service.load_balancer.listener.certificate_arn: an HTTPS listener needs certificate_arn (an ACM certificate for the DNS name clients use); or set protocol: HTTP',
    ]);
    expect(problems({ service: { load_balancer: loadBalancer({}, { protocol: 'HTTP', port: 80, certificate_arn: CERT, ssl_policy: 'ELBSecurityPolicy-TLS13-1-3-2021-06' }) } })).toEqual([
      'service.load_balancer.listener.certificate_arn: certificate_arn is only for protocol: HTTPS',
      'service.load_balancer.listener.ssl_policy: ssl_policy is only for protocol: HTTPS',
    ]);
    expect(problems({ service: { load_balancer: loadBalancer({}, { protocol: 'HTTP', port: 80 }) } })).toEqual([]);
    // Only TLS 1.2+ policies.
    const old = problems({ service: { load_balancer: loadBalancer({}, { certificate_arn: CERT, ssl_policy: 'ELBSecurityPolicy-2016-08' }) } });
    expect(old).toHaveLength(1);
    expect(old[0]).toMatch(/^service\.load_balancer\.listener\.ssl_policy: must be one of the TLS 1\.2\+ policies: ELBSecurityPolicy-TLS13-1-2-2021-06, /);
    expect(problems({ service: { load_balancer: loadBalancer({}, { certificate_arn: 'my-cert' }) } })[0]).toContain('must be an ACM certificate ARN');
  });

  it('rejects a container port that is not in the task definition', () => {
    expect(problems({ service: { load_balancer: loadBalancer({ container_port: 9000 }) } })).toEqual([
      'service.load_balancer.container_port: container port 9000 is not in the task definition: container "main" maps 8080',
    ]);
    expect(problems({ port_mappings: undefined, service: { load_balancer: loadBalancer() } })).toEqual([
      'service.load_balancer.container_port: container port 8080 is not in the task definition: container "main" has no port mappings; add port_mappings: [{container_port: 8080}] (or portMappings in the task definition)',
    ]);
    // Ports of a raw task definition count, for the main container and for another one.
    const td = {
      containerDefinitions: [
        { name: 'app', image: 'vendor/agent:3', portMappings: [{ containerPort: 7000, protocol: 'tcp' }] },
        { name: 'proxy', image: 'envoy:1', portMappings: [{ containerPort: 9901 }] },
      ],
    };
    expect(problems({ image: undefined, port_mappings: undefined, task_definition: td, service: { load_balancer: loadBalancer({ container_port: 7000 }) } })).toEqual([]);
    expect(
      problems({ image: undefined, port_mappings: undefined, task_definition: td, service: { load_balancer: loadBalancer({ container_name: 'proxy', container_port: 9901 }) } }),
    ).toEqual([]);
    expect(
      problems({ image: undefined, port_mappings: undefined, task_definition: td, service: { load_balancer: loadBalancer({ container_name: 'sidecar', container_port: 1 }) } }),
    ).toEqual(['service.load_balancer.container_name: no container named "sidecar" in the task definition']);
  });

  it('rejects a health check path without a leading slash, saying what to write', () => {
    expect(problems({ service: { load_balancer: loadBalancer({ health_check: { path: 'healthz' } }) } })).toEqual([
      'service.load_balancer.health_check.path: the health check path must start with "/" (the load balancer requests it as written): write "/healthz"',
    ]);
    expect(problems({ service: { load_balancer: loadBalancer({ health_check: { path: '/', timeout_seconds: 30, interval_seconds: 30 } }) } })).toEqual([
      'service.load_balancer.health_check.timeout_seconds: timeout_seconds (30) must be less than interval_seconds (30)',
    ]);
  });

  it('checks counts, deployment percentages, autoscaling, subnets, cpu/memory and the Task fields a Service cannot have', () => {
    expect(problems({ service: { desired_count: -1 } })).toEqual(['service.desired_count: desired_count must be 0 or more']);
    expect(problems({ service: { desired_count: 1.5 } })).toEqual(['service.desired_count: desired_count must be a whole number']);
    expect(problems({ service: { desired_count: 2, minimum_healthy_count: 3 } })).toEqual([
      'service.minimum_healthy_count: minimum_healthy_count (3) cannot be more than desired_count (2)',
    ]);
    expect(problems({ service: { deployment: { minimum_healthy_percent: 100, maximum_percent: 100 } } })).toEqual([
      'service.deployment.maximum_percent: maximum_percent (100) must be more than minimum_healthy_percent (100), or a deployment can neither start nor stop a copy',
    ]);
    expect(problems({ service: { deployment: { circuit_breaker: false } } })).toEqual([
      'service.deployment.rollback: rollback needs circuit_breaker: true (the circuit breaker decides when to roll back)',
    ]);
    expect(problems({ service: { desired_count: 1, autoscaling: { min_count: 2, max_count: 1 } } })).toEqual([
      'service.autoscaling.max_count: max_count (1) must be at least min_count (2)',
      'service.desired_count: desired_count (1) must be between autoscaling.min_count (2) and max_count (1)',
      'service.autoscaling: give target_cpu_percent or target_memory_percent (or both): what autoscaling keeps steady',
    ]);
    expect(problems({ service: { desired_count: 2, autoscaling: { min_count: 1, max_count: 4, target_cpu_percent: 60 } } })).toEqual([]);
    expect(problems({ service: { load_balancer: loadBalancer({ subnets: ['subnet-0a1b2c3d4e5f60718'] }) } })).toEqual([
      'service.load_balancer.subnets: an Application Load Balancer needs subnets in at least two availability zones',
    ]);
    expect(problems({ cpu: 256, memory: 4096, service: {} })).toEqual([
      'memory: memory 4096 MiB does not go with cpu 256 on Fargate; with cpu 256 use 512, 1024, 2048 MiB',
    ]);
    expect(problems({ schedule: '@daily', service: {} })).toEqual([
      'schedule: a Service runs all the time, so it takes no schedule; remove schedule (or service to run it as scheduled Task)',
    ]);
    expect(problems({ service: { colour: 'blue' } })).toEqual(['service.colour: unknown field; remove it or check its spelling']);
    // The stack's security group is added to the Run Environment's; ECS takes 5 at most.
    const full = { ...ENV, security_groups: ['sg-00000001', 'sg-00000002', 'sg-00000003', 'sg-00000004', 'sg-00000005'] };
    const task = TaskSpec.parse({ name: 'web', run_environment: 'prod', image: 'nginx', port_mappings: [{ container_port: 8080 }], service: { load_balancer: loadBalancer() } });
    expect(checkEcsTask(task, full).map((i) => i.message)).toEqual([
      'a load-balanced Service\'s tasks get the load balancer stack\'s security group as well as the Run Environment\'s, and ECS allows 5; Run Environment "prod" already has 5',
    ]);
  });
});

describe('rolloutVerdict', () => {
  const TD1 = 'arn:aws:ecs:eu-west-1:123456789012:task-definition/berth-web:1';
  const TD2 = 'arn:aws:ecs:eu-west-1:123456789012:task-definition/berth-web:2';
  const deployment = (over: Partial<ServiceObservation['deployments'][number]>) => ({
    id: 'ecs-svc/1',
    status: 'PRIMARY',
    task_definition: TD2,
    desired_count: 2,
    running_count: 2,
    pending_count: 0,
    failed_tasks: 0,
    rollout_state: 'COMPLETED',
    rollout_state_reason: null,
    created_at: null,
    updated_at: null,
    ...over,
  });
  const service = (over: Partial<ServiceObservation>): ServiceObservation => ({
    status: 'ACTIVE',
    service_arn: 'arn:aws:ecs:eu-west-1:123456789012:service/berth/web',
    task_definition: TD2,
    desired_count: 2,
    running_count: 2,
    pending_count: 0,
    deployments: [deployment({})],
    events: [{ created_at: null, message: '(service web) has reached a steady state.' }],
    ...over,
  });

  it('is stable once the one deployment runs the target with every copy', () => {
    expect(rolloutVerdict(service({}), TD2)).toEqual({ state: 'stable', message: 'berth-web:2 is deployed: 2 running, 0 pending, 2 desired' });
  });

  it('is in progress while the old deployment drains or copies are pending', () => {
    const draining = service({ running_count: 3, deployments: [deployment({ rollout_state: 'IN_PROGRESS' }), deployment({ status: 'ACTIVE', task_definition: TD1 })] });
    expect(rolloutVerdict(draining, TD2)).toEqual({ state: 'in_progress', message: 'IN_PROGRESS: 3 running, 0 pending, 2 desired' });
    expect(rolloutVerdict(service({ running_count: 1, pending_count: 1 }), TD2).state).toBe('in_progress');
  });

  it('fails with the reason when the rollout failed or the circuit breaker went back', () => {
    const failed = service({
      deployments: [deployment({ rollout_state: 'FAILED', rollout_state_reason: 'ECS deployment circuit breaker: tasks failed to start.' })],
      events: [{ created_at: null, message: '(service web) failed to launch a task.' }],
    });
    expect(rolloutVerdict(failed, TD2)).toEqual({
      state: 'failed',
      message: 'ECS deployment circuit breaker: tasks failed to start. (last service event: (service web) failed to launch a task.)',
    });
    const rolledBack = service({ deployments: [deployment({ task_definition: TD1, rollout_state_reason: 'rolled back' })] });
    expect(rolloutVerdict(rolledBack, TD2).message).toMatch(/^the service went back to berth-web:1: rolled back/);
    expect(rolloutVerdict(service({ status: 'MISSING', deployments: [] }), TD2).state).toBe('failed');
  });
});

describe('decideBelowMinimum', () => {
  const settings = ServiceSettings.parse({ desired_count: 3, minimum_healthy_count: 2, below_minimum_grace_seconds: 60 });
  const T = '0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f';
  const decide = (running: number, state: { since: number | null; event: string | null }, now: number, status = 'ACTIVE', deployed = true) =>
    decideBelowMinimum({ taskUuid: T, settings, observation: { status, running_count: running }, deployed, state, now });

  it('raises once after the grace period, then resolves when the count is back', () => {
    const first = decide(1, { since: null, event: null }, 1_000);
    expect(first).toEqual({ action: 'none', state: { since: 1_000, event: null } });
    expect(decide(1, first.state, 60_999).action).toBe('none');
    const raised = decide(1, first.state, 61_000);
    expect(raised).toEqual({ action: 'raise', key: `SERVICE_BELOW_DESIRED_COUNT:${T}:1000`, state: { since: 1_000, event: `SERVICE_BELOW_DESIRED_COUNT:${T}:1000` }, running: 1, minimum: 2, since: 1_000 });
    // Still below: nothing more.
    expect(decide(0, raised.state, 120_000)).toEqual({ action: 'none', state: raised.state });
    const resolved = decide(2, raised.state, 130_000);
    expect(resolved).toEqual({ action: 'resolve', key: `SERVICE_BELOW_DESIRED_COUNT:${T}:1000`, state: { since: null, event: null }, running: 2, minimum: 2 });
  });

  it('forgets a short dip, and ignores a Service that was never deployed', () => {
    const dip = decide(1, { since: null, event: null }, 1_000);
    expect(decide(3, dip.state, 30_000)).toEqual({ action: 'none', state: { since: null, event: null } });
    expect(decide(0, { since: null, event: null }, 1_000, 'MISSING', false)).toEqual({ action: 'none', state: { since: null, event: null } });
    // Deployed, then gone from ECS: it runs nothing.
    expect(decide(0, { since: 0, event: null }, 61_000, 'MISSING', true).action).toBe('raise');
  });
});
