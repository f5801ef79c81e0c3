/**
 * The part of an executor that runs Services (Tasks with `service:` settings): long-running
 * copies kept at a desired count by the backend itself (ECS services), optionally behind a load
 * balancer. Only `aws-ecs` implements it. Every call names the Service by its Task and Run
 * Environment as stored; implementations check the settings again before their first AWS call.
 */
import type { ServiceObservation } from '../domain/service.js';
import type { ExecutorHandle, StartRequest } from './executor.js';

/** A Service: its Task (stored spec) and its Run Environment (stored settings). */
export interface ServiceRef {
  runEnvironment: StartRequest['runEnvironment'];
  task: { uuid: string; name: string; spec: Record<string, unknown> };
}

/** One thing a deploy creates, changes or leaves alone. */
export interface ServiceStep {
  /** What it is about: `load balancer stack`, `task definition`, `ECS service`, `autoscaling`. */
  resource: string;
  /** The AWS name of the thing (stack name, family:revision, service name, scalable target). */
  name: string;
  action: 'create' | 'update' | 'unchanged' | 'delete';
  /** What changes, for people: `desired count 2 → 3`, `new revision (image changed)`, … */
  detail: string;
}

/** The load balancer of a Service, from its CloudFormation stack. */
export interface ServiceLoadBalancerInfo {
  stack_name: string;
  stack_status: string | null;
  dns_name: string | null;
  target_group_arn: string | null;
  listener_arn: string | null;
  service_security_group_id: string | null;
  load_balancer_security_group_id: string | null;
}

/** What the backend says about a Service now. */
export interface ServiceStatus extends ServiceObservation {
  /** The ECS service's name. */
  name: string;
  cluster: string;
  load_balancer: ServiceLoadBalancerInfo | null;
}

export interface ServiceDeployResult {
  steps: ServiceStep[];
  service_arn: string | null;
  /** The revision the service now runs (or is rolling out). */
  task_definition_arn: string;
  /** The revision it ran before, when it existed. */
  previous_task_definition_arn: string | null;
}

/** One of the Service's running copies, as a handle the executor's `observe` understands. */
export interface ServiceTaskHandle {
  task_arn: string;
  handle: ExecutorHandle;
  /** When the copy started, if the backend says. */
  started_at: number | null;
}

/** The load balancer template with the parameters for one Service, ready to review or deploy. */
export interface ServiceTemplate {
  stack_name: string;
  template: string;
  parameters: Record<string, string>;
}

export interface ServiceBackend {
  /** What `deploy` would do, without changing anything (reads only). */
  plan(ref: ServiceRef): Promise<ServiceStep[]>;
  /**
   * Makes the backend match the Service: load balancer stack, task definition revision, the
   * service (created or updated), autoscaling. Returns once the change is accepted, not when it is
   * stable: watch it with `describe`. Throws BerthError AWS_CALL_FAILED naming the AWS action.
   */
  deploy(ref: ServiceRef): Promise<ServiceDeployResult>;
  /** Sets the desired count, nothing else. */
  scale(ref: ServiceRef, desiredCount: number): Promise<ServiceDeployResult>;
  /** Deploys the revision before the one the service runs now. */
  rollback(ref: ServiceRef): Promise<ServiceDeployResult>;
  /**
   * The state of several Services, batched (one DescribeServices per 10 per cluster), with their
   * load balancer stacks unless `loadBalancers: false` (the monitor's passes).
   */
  describe(refs: readonly ServiceRef[], options?: { loadBalancers?: boolean }): Promise<ServiceStatus[]>;
  /** The Service's running copies (its ECS tasks). */
  listTasks(ref: ServiceRef): Promise<ServiceTaskHandle[]>;
  /** The load balancer template and its parameters for this Service. */
  template(ref: ServiceRef): Promise<ServiceTemplate>;
}
