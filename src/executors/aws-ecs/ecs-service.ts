/**
 * Services on ECS: a Task with `service:` settings becomes an ECS service named after its task
 * definition family (`<task_definition_prefix><task name>`), optionally behind an Application Load
 * Balancer kept in its own CloudFormation stack (`<family>-lb`, from
 * infra/cloudformation/service-load-balancer.yaml), with optional Application Auto Scaling.
 *
 * A deploy: (1) the load balancer stack is created or updated and waited for (its outputs give the
 * target group and the service's security group); (2) the task definition is registered only if
 * its content changed (the executor's cache); (3) the service is created, or updated with the new
 * revision, counts and deployment settings; (4) the scalable target and its target-tracking
 * policy are put (or removed). It returns once ECS accepted the change: the rollout is watched
 * through `describe` (deployments, counts, events).
 *
 * Every AWS call goes through Berth's retry policy; a failure becomes AWS_CALL_FAILED naming the
 * action, so the caller can say what permission or setting is wrong.
 */
import {
  ApplicationAutoScalingClient,
  DeleteScalingPolicyCommand,
  DeregisterScalableTargetCommand,
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
} from '@aws-sdk/client-application-auto-scaling';
import { CloudFormationClient, CreateStackCommand, DescribeStacksCommand, UpdateStackCommand } from '@aws-sdk/client-cloudformation';
import type { Stack } from '@aws-sdk/client-cloudformation';
import { DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  CreateServiceCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ListTaskDefinitionsCommand,
  ListTasksCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import type { CreateServiceCommandInput, Service, UpdateServiceCommandInput } from '@aws-sdk/client-ecs';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { clusterName } from '../../domain/aws.js';
import { BerthError } from '../../domain/errors.js';
import type { AwsEcsRunEnvironmentSpec } from '../../domain/run-environment.js';
import { DEFAULT_TLS_POLICY, mainContainerName, revisionOf } from '../../domain/service.js';
import type { ServiceObservation, ServiceSettings } from '../../domain/service.js';
import { TaskSpec } from '../../domain/task.js';
import type { ServiceBackend, ServiceDeployResult, ServiceRef, ServiceStatus, ServiceStep, ServiceTaskHandle, ServiceTemplate } from '../service-backend.js';
import { describeAwsError, withRetry } from './aws-calls.js';
import type { RetryOptions } from './aws-calls.js';
import type { AwsClientConfig, EcsClients } from './ecs-clients.js';
import type { EcsHandle } from './ecs-executor.js';
import { buildTaskDefinition, familyOf, HASH_TAG } from './task-definition.js';
import type { BuiltDefinition } from './task-definition.js';

/** The tag on the load balancer stack holding the hash of the template text it was deployed with. */
export const TEMPLATE_HASH_TAG = 'berth:template-hash';
const TEMPLATE_FILE = 'service-load-balancer.yaml';
/** The most services one DescribeServices takes. */
const DESCRIBE_SERVICES_BATCH = 10;
const DESCRIBE_TASKS_BATCH = 100;
/** How often (ms) a stack in progress is looked at, and for how long at most. */
const STACK_POLL_MS = 5_000;
const STACK_TIMEOUT_MS = 30 * 60_000;
/** Most service events kept in a status. */
const EVENTS_KEPT = 10;

/** The text of infra/cloudformation/service-load-balancer.yaml (three levels above this module, in src/ and dist/). */
export function serviceTemplateText(): string {
  const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'infra', 'cloudformation', TEMPLATE_FILE);
  return fs.readFileSync(file, 'utf8');
}

/** The ECS service name of a Task: its task definition family. */
export function serviceNameOf(env: AwsEcsRunEnvironmentSpec, taskName: string): string {
  return familyOf(env, taskName);
}

/** The load balancer stack's name: the service name made a valid stack name, plus `-lb`. */
export function stackNameOf(env: AwsEcsRunEnvironmentSpec, taskName: string): string {
  let name = serviceNameOf(env, taskName).replace(/[^A-Za-z0-9-]/g, '-');
  if (!/^[A-Za-z]/.test(name)) name = `s-${name}`;
  return `${name.slice(0, 125)}-lb`;
}

/**
 * The stack parameters for a Service's load balancer. `vpcId` is looked up by the caller when
 * the settings do not give it.
 */
export function stackParameters(task: TaskSpec, service: ServiceSettings, vpcId: string, tags: Record<string, string>): Record<string, string> {
  const lb = service.load_balancer!;
  const params: Record<string, string> = {
    ServiceName: task.name,
    VpcId: vpcId,
    ContainerPort: String(lb.container_port),
    Scheme: lb.scheme,
    LoadBalancerSubnets: lb.subnets.join(','),
    ListenerPort: String(lb.listener.port),
    ListenerProtocol: lb.listener.protocol,
    CertificateArn: lb.listener.certificate_arn ?? '',
    SslPolicy: lb.listener.ssl_policy ?? DEFAULT_TLS_POLICY,
    HealthCheckPath: lb.health_check.path,
    HealthCheckIntervalSeconds: String(lb.health_check.interval_seconds),
    HealthCheckTimeoutSeconds: String(lb.health_check.timeout_seconds),
    HealthyThresholdCount: String(lb.health_check.healthy_threshold),
    UnhealthyThresholdCount: String(lb.health_check.unhealthy_threshold),
    HealthCheckMatcher: lb.health_check.matcher,
    HostedZoneId: lb.dns?.hosted_zone_id ?? '',
    DnsName: lb.dns?.name ?? '',
    ProjectTag: tags.Project ?? 'berth',
  };
  lb.allowed_cidrs.forEach((cidr, i) => (params[`AllowedCidr${i + 1}`] = cidr));
  return params;
}

/**
 * A list parameter as CloudFormation shows it: `a,b`. (moto shows a List<…> parameter as the
 * Python list `['a', 'b']`; read either way.)
 */
function listParameter(value: string): string {
  const python = /^\[(.*)\]$/.exec(value);
  return python ? python[1]!.split(',').map((v) => v.trim().replace(/^'(.*)'$/, '$1')).join(',') : value;
}

const output = (stack: Stack | null, key: string): string | null => stack?.Outputs?.find((o) => o.OutputKey === key)?.OutputValue ?? null;

/** The parts of ECS's answer Berth keeps (times as ISO strings). */
export function observationOf(service: Service | undefined): ServiceObservation {
  if (!service) {
    return { status: 'MISSING', service_arn: null, task_definition: null, desired_count: 0, running_count: 0, pending_count: 0, deployments: [], events: [] };
  }
  const iso = (d: Date | undefined) => (d ? new Date(d).toISOString() : null);
  return {
    status: service.status ?? 'ACTIVE',
    service_arn: service.serviceArn ?? null,
    task_definition: service.taskDefinition ?? null,
    desired_count: service.desiredCount ?? 0,
    running_count: service.runningCount ?? 0,
    pending_count: service.pendingCount ?? 0,
    deployments: (service.deployments ?? []).map((d) => ({
      id: d.id ?? '',
      status: d.status ?? '',
      task_definition: d.taskDefinition ?? '',
      desired_count: d.desiredCount ?? 0,
      running_count: d.runningCount ?? 0,
      pending_count: d.pendingCount ?? 0,
      failed_tasks: d.failedTasks ?? 0,
      rollout_state: d.rolloutState ?? null,
      rollout_state_reason: d.rolloutStateReason ?? null,
      created_at: iso(d.createdAt),
      updated_at: iso(d.updatedAt),
    })),
    events: (service.events ?? [])
      .slice()
      .sort((a, b) => new Date(b.createdAt ?? 0).getTime() - new Date(a.createdAt ?? 0).getTime())
      .slice(0, EVENTS_KEPT)
      .map((e) => ({ created_at: iso(e.createdAt), message: e.message ?? '' })),
  };
}

interface ExtraClients {
  cfn: CloudFormationClient;
  ec2: EC2Client;
  scaling: ApplicationAutoScalingClient;
}

export interface EcsServiceDeps {
  clients(env: AwsEcsRunEnvironmentSpec): EcsClients;
  /** The settings of a stored Run Environment (the executor's own check). */
  settings(settings: Record<string, unknown>): AwsEcsRunEnvironmentSpec;
  /** The ARN of a revision with exactly this content (registered only when it changed). */
  definitionArn(clients: EcsClients, runEnvironmentUuid: string, definition: BuiltDefinition): Promise<string>;
  ensureLogGroup(clients: EcsClients, env: AwsEcsRunEnvironmentSpec, group: string): Promise<void>;
  retry: RetryOptions;
  wait: (ms: number) => Promise<void>;
  now: () => number;
}

interface Resolved {
  env: AwsEcsRunEnvironmentSpec;
  task: TaskSpec;
  service: ServiceSettings;
  clients: EcsClients;
  extra: ExtraClients;
  name: string;
  cluster: string;
  stackName: string;
  definition: BuiltDefinition;
}

/** ECS services for the aws-ecs executor (see the file comment). */
export class EcsServiceBackend implements ServiceBackend {
  private readonly extras = new Map<AwsClientConfig, ExtraClients>();

  constructor(private readonly deps: EcsServiceDeps) {}

  private extraFor(config: AwsClientConfig): ExtraClients {
    let extra = this.extras.get(config);
    if (!extra) {
      extra = { cfn: new CloudFormationClient(config), ec2: new EC2Client(config), scaling: new ApplicationAutoScalingClient(config) };
      this.extras.set(config, extra);
    }
    return extra;
  }

  close(): void {
    for (const e of this.extras.values()) {
      e.cfn.destroy();
      e.ec2.destroy();
      e.scaling.destroy();
    }
    this.extras.clear();
  }

  private resolve(ref: ServiceRef): Resolved {
    const env = this.deps.settings(ref.runEnvironment.settings);
    const task = TaskSpec.parse({ ...ref.task.spec, run_environment: ref.runEnvironment.name });
    if (!task.service) {
      throw new BerthError('VALIDATION_FAILED', `Task "${task.name}" has no service settings, so it is not a Service.`);
    }
    const clients = this.deps.clients(env);
    return {
      env,
      task,
      service: task.service,
      clients,
      extra: this.extraFor(clients.config),
      name: serviceNameOf(env, task.name),
      cluster: env.cluster,
      stackName: stackNameOf(env, task.name),
      definition: buildTaskDefinition(task, env),
    };
  }

  /** One AWS call with the retry policy; failures become AWS_CALL_FAILED naming the action. */
  private async call<T>(action: string, what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await withRetry(run, this.deps.retry, this.deps.wait);
    } catch (error) {
      if (error instanceof BerthError) throw error;
      throw new BerthError('AWS_CALL_FAILED', `${what}: ${describeAwsError(action, error)}`, { action }, { cause: error });
    }
  }

  private async describeOne(r: Resolved): Promise<Service | undefined> {
    const answer = await this.call('ecs:DescribeServices', `Could not read ECS service "${r.name}"`, () =>
      r.clients.ecs.send(new DescribeServicesCommand({ cluster: r.cluster, services: [r.name] })),
    );
    return answer.services?.find((s) => s.status !== 'INACTIVE');
  }

  private async stack(r: Resolved): Promise<Stack | null> {
    try {
      const answer = await withRetry(() => r.extra.cfn.send(new DescribeStacksCommand({ StackName: r.stackName })), this.deps.retry, this.deps.wait);
      const stack = answer.Stacks?.[0] ?? null;
      return stack && stack.StackStatus !== 'DELETE_COMPLETE' ? stack : null;
    } catch (error) {
      if (/does not exist/i.test((error as Error).message ?? '')) return null;
      throw new BerthError('AWS_CALL_FAILED', `Could not read the load balancer stack "${r.stackName}": ${describeAwsError('cloudformation:DescribeStacks', error)}`, {
        action: 'cloudformation:DescribeStacks',
      }, { cause: error });
    }
  }

  private async vpcOf(r: Resolved): Promise<string> {
    const lb = r.service.load_balancer!;
    if (lb.vpc_id) return lb.vpc_id;
    const answer = await this.call('ec2:DescribeSubnets', `Could not find the VPC of subnet ${lb.subnets[0]}`, () =>
      r.extra.ec2.send(new DescribeSubnetsCommand({ SubnetIds: lb.subnets })),
    );
    const vpcs = [...new Set((answer.Subnets ?? []).map((s) => s.VpcId))];
    if (vpcs.length !== 1 || !vpcs[0]) {
      throw new BerthError(
        'VALIDATION_FAILED',
        `The load balancer subnets of "${r.task.name}" must be in one VPC; they are in ${vpcs.length ? vpcs.join(', ') : 'none AWS knows'}. Check service.load_balancer.subnets.`,
      );
    }
    return vpcs[0];
  }

  private templateAndParameters(r: Resolved, vpcId: string): ServiceTemplate & { hash: string } {
    const template = serviceTemplateText();
    const parameters = stackParameters(r.task, r.service, vpcId, r.env.tags);
    const hash = createHash('sha256').update(template).digest('hex').slice(0, 32);
    return { stack_name: r.stackName, template, parameters, hash };
  }

  /** What the stack would do: create, update (with which parameters changed) or nothing. */
  private stackStep(r: Resolved, stack: Stack | null, wanted: { parameters: Record<string, string>; hash: string }): ServiceStep {
    if (!stack) return { resource: 'load balancer stack', name: r.stackName, action: 'create', detail: 'security groups, target group, load balancer, listener' };
    const current = Object.fromEntries((stack.Parameters ?? []).map((p) => [p.ParameterKey!, listParameter(p.ParameterValue ?? '')]));
    const changed = Object.keys(wanted.parameters).filter((k) => (current[k] ?? '') !== wanted.parameters[k]);
    const templateChanged = stack.Tags?.find((t) => t.Key === TEMPLATE_HASH_TAG)?.Value !== wanted.hash;
    if (changed.length === 0 && !templateChanged && !/FAILED|ROLLBACK_COMPLETE$/.test(stack.StackStatus ?? '')) {
      return { resource: 'load balancer stack', name: r.stackName, action: 'unchanged', detail: stack.StackStatus ?? '' };
    }
    const parts = changed.map((k) => `${k} ${current[k] || '""'} → ${wanted.parameters[k] || '""'}`);
    if (templateChanged) parts.push('template changed');
    return { resource: 'load balancer stack', name: r.stackName, action: 'update', detail: parts.join(', ') || `retry after ${stack.StackStatus}` };
  }

  private async waitForStack(r: Resolved): Promise<Stack> {
    const deadline = this.deps.now() + STACK_TIMEOUT_MS;
    for (;;) {
      const stack = await this.stack(r);
      const status = stack?.StackStatus ?? 'MISSING';
      if (stack && /_COMPLETE$/.test(status) && !/ROLLBACK/.test(status)) return stack;
      if (!stack || /FAILED$|ROLLBACK_COMPLETE$/.test(status)) {
        throw new BerthError(
          'AWS_CALL_FAILED',
          `The load balancer stack "${r.stackName}" ended ${status}${stack?.StackStatusReason ? `: ${stack.StackStatusReason}` : ''}. Its events (aws cloudformation describe-stack-events --stack-name ${r.stackName}) say which resource failed.`,
          { action: 'cloudformation:DescribeStacks', stack: r.stackName, status },
        );
      }
      if (this.deps.now() > deadline) {
        throw new BerthError('AWS_CALL_FAILED', `The load balancer stack "${r.stackName}" is still ${status} after 30 minutes.`, {
          action: 'cloudformation:DescribeStacks',
          stack: r.stackName,
        });
      }
      await this.deps.wait(STACK_POLL_MS);
    }
  }

  private async deployStack(r: Resolved): Promise<{ step: ServiceStep; stack: Stack }> {
    const wanted = this.templateAndParameters(r, await this.vpcOf(r));
    const existing = await this.stack(r);
    const step = this.stackStep(r, existing, wanted);
    if (step.action === 'unchanged') return { step, stack: existing! };
    const input = {
      StackName: r.stackName,
      TemplateBody: wanted.template,
      Parameters: Object.entries(wanted.parameters).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue })),
      Tags: [
        ...Object.entries(r.env.tags).map(([Key, Value]) => ({ Key, Value })),
        { Key: 'berth:task', Value: r.task.name.slice(0, 256) },
        { Key: TEMPLATE_HASH_TAG, Value: wanted.hash },
      ],
      ...(r.env.service_stack_role_arn ? { RoleARN: r.env.service_stack_role_arn } : {}),
    };
    if (!existing) {
      await this.call('cloudformation:CreateStack', `Could not create the load balancer stack "${r.stackName}"`, () =>
        r.extra.cfn.send(new CreateStackCommand({ ...input, OnFailure: 'DELETE' })),
      );
    } else {
      try {
        await withRetry(() => r.extra.cfn.send(new UpdateStackCommand(input)), this.deps.retry, this.deps.wait);
      } catch (error) {
        if (!/No updates are to be performed/i.test((error as Error).message ?? '')) {
          throw new BerthError('AWS_CALL_FAILED', `Could not update the load balancer stack "${r.stackName}": ${describeAwsError('cloudformation:UpdateStack', error)}`, {
            action: 'cloudformation:UpdateStack',
          }, { cause: error });
        }
      }
    }
    return { step, stack: await this.waitForStack(r) };
  }

  /** The hash tag of a registered revision, to tell whether the Task's definition changed. */
  private async revisionHash(r: Resolved, arn: string): Promise<string | null> {
    try {
      const answer = await withRetry(
        () => r.clients.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ['TAGS'] })),
        this.deps.retry,
        this.deps.wait,
      );
      return answer.tags?.find((t) => t.key === HASH_TAG)?.value ?? null;
    } catch {
      return null;
    }
  }

  private networkOf(r: Resolved, serviceGroup: string | null) {
    return {
      awsvpcConfiguration: {
        subnets: r.service.subnets ?? r.env.subnets,
        securityGroups: [...r.env.security_groups, ...(serviceGroup ? [serviceGroup] : [])],
        assignPublicIp: (r.service.assign_public_ip ?? r.env.assign_public_ip) ? ('ENABLED' as const) : ('DISABLED' as const),
      },
    };
  }

  private deploymentConfiguration(r: Resolved) {
    const d = r.service.deployment;
    return {
      minimumHealthyPercent: d.minimum_healthy_percent,
      maximumPercent: d.maximum_percent,
      deploymentCircuitBreaker: { enable: d.circuit_breaker, rollback: d.circuit_breaker && d.rollback },
    };
  }

  private serviceStep(r: Resolved, current: Service | undefined, definitionChanged: boolean, revision: string): ServiceStep {
    if (!current) return { resource: 'ECS service', name: r.name, action: 'create', detail: `${revision}, desired count ${r.service.desired_count}` };
    const parts: string[] = [];
    if (definitionChanged) parts.push(`${revisionOf(current.taskDefinition ?? '?')} → new revision`);
    else if (current.taskDefinition && revisionOf(current.taskDefinition) !== revision && revision !== 'new revision') parts.push(`${revisionOf(current.taskDefinition)} → ${revision}`);
    if (!r.service.autoscaling && current.desiredCount !== r.service.desired_count) parts.push(`desired count ${current.desiredCount ?? 0} → ${r.service.desired_count}`);
    const d = current.deploymentConfiguration;
    const wanted = this.deploymentConfiguration(r);
    if (
      d &&
      (d.minimumHealthyPercent !== wanted.minimumHealthyPercent ||
        d.maximumPercent !== wanted.maximumPercent ||
        (d.deploymentCircuitBreaker?.enable ?? false) !== wanted.deploymentCircuitBreaker.enable ||
        (d.deploymentCircuitBreaker?.rollback ?? false) !== wanted.deploymentCircuitBreaker.rollback)
    ) {
      parts.push('deployment settings');
    }
    return { resource: 'ECS service', name: r.name, action: parts.length ? 'update' : 'unchanged', detail: parts.join(', ') || `${revisionOf(current.taskDefinition ?? '?')}, desired count ${current.desiredCount ?? 0}` };
  }

  async plan(ref: ServiceRef): Promise<ServiceStep[]> {
    const r = this.resolve(ref);
    const steps: ServiceStep[] = [];
    if (r.service.load_balancer) {
      const wanted = this.templateAndParameters(r, await this.vpcOf(r));
      steps.push(this.stackStep(r, await this.stack(r), wanted));
    }
    const current = await this.describeOne(r);
    const currentHash = current?.taskDefinition ? await this.revisionHash(r, current.taskDefinition) : null;
    const definitionChanged = currentHash !== r.definition.hash;
    steps.push({
      resource: 'task definition',
      name: r.definition.family,
      action: definitionChanged ? 'create' : 'unchanged',
      detail: definitionChanged ? 'a new revision (the Task\'s definition changed)' : revisionOf(current!.taskDefinition!),
    });
    steps.push(this.serviceStep(r, current, current ? definitionChanged : false, definitionChanged ? 'new revision' : revisionOf(current?.taskDefinition ?? '')));
    steps.push(await this.scalingStep(r, false));
    return steps;
  }

  async deploy(ref: ServiceRef): Promise<ServiceDeployResult> {
    const r = this.resolve(ref);
    const steps: ServiceStep[] = [];
    let stack: Stack | null = null;
    if (r.service.load_balancer) {
      const deployed = await this.deployStack(r);
      steps.push(deployed.step);
      stack = deployed.stack;
    }
    const current = await this.describeOne(r);
    try {
      await this.deps.ensureLogGroup(r.clients, r.env, r.definition.logGroup);
    } catch (error) {
      throw new BerthError('AWS_CALL_FAILED', `Could not prepare service "${r.name}": ${describeAwsError('logs:CreateLogGroup', error)}`, { action: 'logs:CreateLogGroup' }, { cause: error });
    }
    let definitionArn: string;
    try {
      definitionArn = await this.deps.definitionArn(r.clients, ref.runEnvironment.uuid, r.definition);
    } catch (error) {
      throw new BerthError('AWS_CALL_FAILED', `Could not register the task definition of "${r.task.name}": ${describeAwsError('ecs:RegisterTaskDefinition', error)}`, {
        action: 'ecs:RegisterTaskDefinition',
      }, { cause: error });
    }
    const definitionChanged = current?.taskDefinition !== definitionArn;
    steps.push({
      resource: 'task definition',
      name: revisionOf(definitionArn),
      action: definitionChanged ? (current ? 'update' : 'create') : 'unchanged',
      detail: definitionChanged && current?.taskDefinition ? `${revisionOf(current.taskDefinition)} → ${revisionOf(definitionArn)}` : revisionOf(definitionArn),
    });
    const result = await this.putService(r, current, definitionArn, stack, r.service.autoscaling && current ? undefined : r.service.desired_count);
    steps.push(this.serviceStep(r, current, definitionChanged, revisionOf(definitionArn)));
    steps.push(await this.scalingStep(r, true));
    return { ...result, steps };
  }

  /** CreateService or UpdateService; `desiredCount` undefined leaves the count to autoscaling. */
  private async putService(
    r: Resolved,
    current: Service | undefined,
    definitionArn: string,
    stack: Stack | null,
    desiredCount: number | undefined,
  ): Promise<Omit<ServiceDeployResult, 'steps'>> {
    const lb = r.service.load_balancer;
    const targetGroup = output(stack, 'TargetGroupArn');
    const serviceGroup = output(stack, 'ServiceSecurityGroupId');
    if (lb && (!targetGroup || !serviceGroup)) {
      throw new BerthError('AWS_CALL_FAILED', `The load balancer stack "${r.stackName}" has no TargetGroupArn or ServiceSecurityGroupId output; deploy it again.`, {
        action: 'cloudformation:DescribeStacks',
      });
    }
    const loadBalancers = lb
      ? [{ targetGroupArn: targetGroup!, containerName: lb.container_name ?? mainContainerName(r.task), containerPort: lb.container_port }]
      : [];
    if (!current) {
      const input: CreateServiceCommandInput = {
        cluster: r.cluster,
        serviceName: r.name,
        taskDefinition: definitionArn,
        desiredCount: r.service.desired_count,
        ...(r.env.capacity_provider_strategy
          ? { capacityProviderStrategy: r.env.capacity_provider_strategy.map((c) => ({ capacityProvider: c.capacity_provider, weight: c.weight, base: c.base })) }
          : r.env.launch_type === 'FARGATE_SPOT'
            ? { capacityProviderStrategy: [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }] }
            : { launchType: 'FARGATE' as const }),
        ...(r.env.platform_version ? { platformVersion: r.env.platform_version } : {}),
        networkConfiguration: this.networkOf(r, serviceGroup),
        deploymentConfiguration: this.deploymentConfiguration(r),
        deploymentController: { type: 'ECS' },
        ...(lb ? { loadBalancers, healthCheckGracePeriodSeconds: lb.health_check_grace_period_seconds } : {}),
        enableECSManagedTags: true,
        propagateTags: 'SERVICE',
        tags: [...Object.entries(r.env.tags).map(([key, value]) => ({ key, value })), { key: 'berth:task', value: r.task.name.slice(0, 256) }],
      };
      const created = await this.call('ecs:CreateService', `Could not create ECS service "${r.name}"`, () => r.clients.ecs.send(new CreateServiceCommand(input)));
      return { service_arn: created.service?.serviceArn ?? null, task_definition_arn: definitionArn, previous_task_definition_arn: null };
    }
    const input: UpdateServiceCommandInput = {
      cluster: r.cluster,
      service: r.name,
      taskDefinition: definitionArn,
      ...(desiredCount !== undefined ? { desiredCount } : {}),
      networkConfiguration: this.networkOf(r, serviceGroup),
      deploymentConfiguration: this.deploymentConfiguration(r),
      ...(lb ? { loadBalancers, healthCheckGracePeriodSeconds: lb.health_check_grace_period_seconds } : {}),
    };
    const updated = await this.call('ecs:UpdateService', `Could not update ECS service "${r.name}"`, () => r.clients.ecs.send(new UpdateServiceCommand(input)));
    return {
      service_arn: updated.service?.serviceArn ?? current.serviceArn ?? null,
      task_definition_arn: definitionArn,
      previous_task_definition_arn: current.taskDefinition ?? null,
    };
  }

  private scalableTarget(r: Resolved): string {
    return `service/${clusterName(r.cluster)}/${r.name}`;
  }

  /** Puts (or removes, with `apply`) the scalable target and its policies; the step either way. */
  private async scalingStep(r: Resolved, apply: boolean): Promise<ServiceStep> {
    const resourceId = this.scalableTarget(r);
    const a = r.service.autoscaling;
    const existing = await this.call('application-autoscaling:DescribeScalableTargets', `Could not read the autoscaling of "${r.name}"`, () =>
      r.extra.scaling.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', ResourceIds: [resourceId], ScalableDimension: 'ecs:service:DesiredCount' })),
    );
    const target = existing.ScalableTargets?.[0];
    if (!a) {
      if (!target) return { resource: 'autoscaling', name: resourceId, action: 'unchanged', detail: 'none' };
      if (apply) {
        await this.call('application-autoscaling:DeregisterScalableTarget', `Could not remove the autoscaling of "${r.name}"`, () =>
          r.extra.scaling.send(new DeregisterScalableTargetCommand({ ServiceNamespace: 'ecs', ResourceId: resourceId, ScalableDimension: 'ecs:service:DesiredCount' })),
        );
      }
      return { resource: 'autoscaling', name: resourceId, action: 'delete', detail: `was ${target.MinCapacity}–${target.MaxCapacity}` };
    }
    const policies = target
      ? ((
          await this.call('application-autoscaling:DescribeScalingPolicies', `Could not read the autoscaling of "${r.name}"`, () =>
            r.extra.scaling.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: 'ecs', ResourceId: resourceId, ScalableDimension: 'ecs:service:DesiredCount' })),
          )
        ).ScalingPolicies ?? [])
      : [];
    const wanted = [
      ...(a.target_cpu_percent !== undefined ? [{ name: `${r.name}-cpu`, metric: 'ECSServiceAverageCPUUtilization' as const, value: a.target_cpu_percent }] : []),
      ...(a.target_memory_percent !== undefined ? [{ name: `${r.name}-memory`, metric: 'ECSServiceAverageMemoryUtilization' as const, value: a.target_memory_percent }] : []),
    ];
    const policyMatches = (w: (typeof wanted)[number]) =>
      policies.some(
        (p) =>
          p.PolicyName === w.name &&
          p.TargetTrackingScalingPolicyConfiguration?.TargetValue === w.value &&
          p.TargetTrackingScalingPolicyConfiguration?.ScaleInCooldown === a.scale_in_cooldown_seconds &&
          p.TargetTrackingScalingPolicyConfiguration?.ScaleOutCooldown === a.scale_out_cooldown_seconds,
      );
    const stale = policies.filter((p) => !wanted.some((w) => w.name === p.PolicyName));
    const targetMatches = target && target.MinCapacity === a.min_count && target.MaxCapacity === a.max_count;
    if (targetMatches && wanted.every(policyMatches) && stale.length === 0) {
      return { resource: 'autoscaling', name: resourceId, action: 'unchanged', detail: `${a.min_count}–${a.max_count}` };
    }
    if (apply) {
      await this.call('application-autoscaling:RegisterScalableTarget', `Could not set up the autoscaling of "${r.name}"`, () =>
        r.extra.scaling.send(
          new RegisterScalableTargetCommand({
            ServiceNamespace: 'ecs',
            ResourceId: resourceId,
            ScalableDimension: 'ecs:service:DesiredCount',
            MinCapacity: a.min_count,
            MaxCapacity: a.max_count,
          }),
        ),
      );
      for (const w of wanted) {
        if (policyMatches(w)) continue;
        await this.call('application-autoscaling:PutScalingPolicy', `Could not set up the autoscaling of "${r.name}"`, () =>
          r.extra.scaling.send(
            new PutScalingPolicyCommand({
              PolicyName: w.name,
              ServiceNamespace: 'ecs',
              ResourceId: resourceId,
              ScalableDimension: 'ecs:service:DesiredCount',
              PolicyType: 'TargetTrackingScaling',
              TargetTrackingScalingPolicyConfiguration: {
                TargetValue: w.value,
                PredefinedMetricSpecification: { PredefinedMetricType: w.metric },
                ScaleInCooldown: a.scale_in_cooldown_seconds,
                ScaleOutCooldown: a.scale_out_cooldown_seconds,
              },
            }),
          ),
        );
      }
      for (const p of stale) {
        await this.call('application-autoscaling:DeleteScalingPolicy', `Could not set up the autoscaling of "${r.name}"`, () =>
          r.extra.scaling.send(
            new DeleteScalingPolicyCommand({ PolicyName: p.PolicyName!, ServiceNamespace: 'ecs', ResourceId: resourceId, ScalableDimension: 'ecs:service:DesiredCount' }),
          ),
        );
      }
    }
    const what = `${a.min_count}–${a.max_count}${a.target_cpu_percent !== undefined ? `, CPU ${a.target_cpu_percent}%` : ''}${a.target_memory_percent !== undefined ? `, memory ${a.target_memory_percent}%` : ''}`;
    return { resource: 'autoscaling', name: resourceId, action: target ? 'update' : 'create', detail: what };
  }

  async scale(ref: ServiceRef, desiredCount: number): Promise<ServiceDeployResult> {
    const r = this.resolve(ref);
    const current = await this.describeOne(r);
    if (!current) throw new BerthError('SERVICE_NOT_DEPLOYED', `Service "${r.task.name}" is not deployed yet (no ECS service "${r.name}"); deploy it first: berth services deploy ${r.task.name}`);
    const a = r.service.autoscaling;
    if (a && (desiredCount < a.min_count || desiredCount > a.max_count)) {
      throw new BerthError(
        'VALIDATION_FAILED',
        `Service "${r.task.name}" autoscales between ${a.min_count} and ${a.max_count}; ${desiredCount} is outside, and autoscaling would undo it. Change service.autoscaling instead.`,
        { issues: [{ path: 'desired_count', message: `must be between ${a.min_count} and ${a.max_count}`, code: 'custom' }] },
      );
    }
    const updated = await this.call('ecs:UpdateService', `Could not scale ECS service "${r.name}"`, () =>
      r.clients.ecs.send(new UpdateServiceCommand({ cluster: r.cluster, service: r.name, desiredCount })),
    );
    return {
      steps: [{ resource: 'ECS service', name: r.name, action: current.desiredCount === desiredCount ? 'unchanged' : 'update', detail: `desired count ${current.desiredCount ?? 0} → ${desiredCount}` }],
      service_arn: updated.service?.serviceArn ?? current.serviceArn ?? null,
      task_definition_arn: current.taskDefinition ?? '',
      previous_task_definition_arn: current.taskDefinition ?? null,
    };
  }

  async rollback(ref: ServiceRef): Promise<ServiceDeployResult> {
    const r = this.resolve(ref);
    const current = await this.describeOne(r);
    if (!current?.taskDefinition) {
      throw new BerthError('SERVICE_NOT_DEPLOYED', `Service "${r.task.name}" is not deployed yet (no ECS service "${r.name}"), so there is nothing to roll back.`);
    }
    const revision = Number(current.taskDefinition.split(':').pop());
    const arns: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.call('ecs:ListTaskDefinitions', `Could not list the revisions of "${r.definition.family}"`, () =>
        r.clients.ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: r.definition.family, status: 'ACTIVE', sort: 'DESC', ...(nextToken ? { nextToken } : {}) })),
      );
      arns.push(...(page.taskDefinitionArns ?? []).filter((arn) => revisionOf(arn).split(':')[0] === r.definition.family));
      nextToken = page.nextToken;
    } while (nextToken);
    const previous = arns
      .map((arn) => ({ arn, revision: Number(arn.split(':').pop()) }))
      .filter((x) => x.revision < revision)
      .sort((a, b) => b.revision - a.revision)[0];
    if (!previous) {
      throw new BerthError(
        'NO_PREVIOUS_REVISION',
        `Service "${r.task.name}" runs ${revisionOf(current.taskDefinition)} and ECS has no earlier active revision of ${r.definition.family} to go back to (pruned or deregistered?).`,
      );
    }
    await this.call('ecs:UpdateService', `Could not roll back ECS service "${r.name}"`, () =>
      r.clients.ecs.send(new UpdateServiceCommand({ cluster: r.cluster, service: r.name, taskDefinition: previous.arn })),
    );
    return {
      steps: [{ resource: 'ECS service', name: r.name, action: 'update', detail: `${revisionOf(current.taskDefinition)} → ${revisionOf(previous.arn)}` }],
      service_arn: current.serviceArn ?? null,
      task_definition_arn: previous.arn,
      previous_task_definition_arn: current.taskDefinition,
    };
  }

  async describe(refs: readonly ServiceRef[], options: { loadBalancers?: boolean } = {}): Promise<ServiceStatus[]> {
    const resolved = refs.map((ref) => this.resolve(ref));
    const found = new Map<string, Service>();
    // One DescribeServices per 10 services of a cluster and set of clients.
    const groups = new Map<string, Resolved[]>();
    for (const r of resolved) {
      const key = `${r.env.region}|${r.env.endpoint_url ?? ''}|${r.env.role_arn ?? ''}|${r.cluster}`;
      groups.set(key, [...(groups.get(key) ?? []), r]);
    }
    for (const group of groups.values()) {
      for (let i = 0; i < group.length; i += DESCRIBE_SERVICES_BATCH) {
        const batch = group.slice(i, i + DESCRIBE_SERVICES_BATCH);
        const answer = await this.call('ecs:DescribeServices', `Could not read ECS services in cluster "${batch[0]!.cluster}"`, () =>
          batch[0]!.clients.ecs.send(new DescribeServicesCommand({ cluster: batch[0]!.cluster, services: batch.map((r) => r.name) })),
        );
        for (const s of answer.services ?? []) if (s.serviceName && s.status !== 'INACTIVE') found.set(`${batch[0]!.cluster}|${s.serviceName}`, s);
      }
    }
    const out: ServiceStatus[] = [];
    for (const r of resolved) {
      // The stack only changes when Berth deploys it: the monitor's passes skip it.
      const stack = r.service.load_balancer && options.loadBalancers !== false ? await this.stack(r).catch(() => null) : null;
      out.push({
        ...observationOf(found.get(`${r.cluster}|${r.name}`)),
        name: r.name,
        cluster: clusterName(r.cluster),
        load_balancer: r.service.load_balancer
          ? {
              stack_name: r.stackName,
              stack_status: stack?.StackStatus ?? null,
              dns_name: output(stack, 'LoadBalancerDnsName'),
              target_group_arn: output(stack, 'TargetGroupArn'),
              listener_arn: output(stack, 'ListenerArn'),
              service_security_group_id: output(stack, 'ServiceSecurityGroupId'),
              load_balancer_security_group_id: output(stack, 'LoadBalancerSecurityGroupId'),
            }
          : null,
      });
    }
    return out;
  }

  async listTasks(ref: ServiceRef): Promise<ServiceTaskHandle[]> {
    const r = this.resolve(ref);
    const arns: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.call('ecs:ListTasks', `Could not list the tasks of ECS service "${r.name}"`, () =>
        r.clients.ecs.send(new ListTasksCommand({ cluster: r.cluster, serviceName: r.name, desiredStatus: 'RUNNING', ...(nextToken ? { nextToken } : {}) })),
      );
      arns.push(...(page.taskArns ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    const out: ServiceTaskHandle[] = [];
    for (let i = 0; i < arns.length; i += DESCRIBE_TASKS_BATCH) {
      const answer = await this.call('ecs:DescribeTasks', `Could not describe the tasks of ECS service "${r.name}"`, () =>
        r.clients.ecs.send(new DescribeTasksCommand({ cluster: r.cluster, tasks: arns.slice(i, i + DESCRIBE_TASKS_BATCH) })),
      );
      for (const t of answer.tasks ?? []) {
        // ECS sets group "service:<name>" on a service's tasks; the check also keeps others out
        // where ListTasks ignores serviceName (moto).
        if (!t.taskArn || t.group !== `service:${r.name}`) continue;
        const id = t.taskArn.slice(t.taskArn.lastIndexOf('/') + 1);
        const handle: EcsHandle = {
          executor: 'aws-ecs',
          run_environment_uuid: ref.runEnvironment.uuid,
          region: r.env.region,
          cluster: r.cluster,
          task_arn: t.taskArn,
          task_definition_arn: t.taskDefinitionArn ?? '',
          launch_token: `service:${r.name}`,
          container: r.definition.mainContainer,
          ...(r.task.image ? { image: r.task.image } : {}),
          log_group: r.definition.logGroup,
          log_stream: `${r.definition.logStreamPrefix}/${r.definition.mainContainer}/${id}`,
          launched_at: this.deps.now(),
        };
        out.push({ task_arn: t.taskArn, handle, started_at: t.startedAt ? new Date(t.startedAt).getTime() : null });
      }
    }
    return out;
  }

  async template(ref: ServiceRef): Promise<ServiceTemplate> {
    const r = this.resolve(ref);
    if (!r.service.load_balancer) {
      throw new BerthError('VALIDATION_FAILED', `Service "${r.task.name}" has no service.load_balancer settings, so it has no load balancer template.`);
    }
    const { stack_name, template, parameters } = this.templateAndParameters(r, await this.vpcOf(r));
    return { stack_name, template, parameters };
  }
}
