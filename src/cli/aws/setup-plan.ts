/**
 * What the setup wizard deploys and registers, computed from its answers: stack names, each
 * template's parameters, and the Run Environment's fields. Pure: no I/O.
 *
 * Names are derived from the Run Environment's name so that a re-run (or a resumed run) finds the
 * same stacks and the same control role: `berth-<name>-network`, `berth-<name>-cluster`,
 * `berth-<name>-control-role`, and the role `berth-<name>-control`, whose ARN is therefore known
 * before its stack exists.
 */
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { RunEnvironment } from '../../domain/run-environment.js';
import type { StackSpec } from './stacks.js';

export type NatMode = 'None' | 'Single' | 'PerZone';

export type NetworkChoice =
  | { mode: 'create'; zones: string[]; nat: NatMode; s3Endpoint: boolean; interfaceEndpoints: boolean }
  | { mode: 'existing'; vpc: string; subnets: string[]; securityGroups: string[] };

/** The wizard's answers, parsed. */
export interface SetupAnswers {
  runEnvironment: string;
  region: string;
  endpointUrl: string | null;
  cluster: { mode: 'create' | 'existing'; name: string };
  network: NetworkChoice;
  assignPublicIp: boolean;
  trustedPrincipal: string;
  logGroup: string;
  logRetentionDays: number;
  secretNamePrefix: string;
  containerInsights: string;
  taskDefinitionPrefix: string;
  services: boolean;
  eventBridgeSchedules: boolean;
}

export interface StackNames {
  network: string;
  cluster: string;
  controlRole: string;
}

const stackSafe = (name: string) => name.replace(/[^A-Za-z0-9-]/g, '-');

export function stackNames(runEnvironment: string): StackNames {
  const base = `berth-${stackSafe(runEnvironment)}`;
  return { network: `${base}-network`, cluster: `${base}-cluster`, controlRole: `${base}-control-role` };
}

/** `berth-<name>-control`, shortened with a hash of the name when IAM's 64 characters are not enough. */
export function controlRoleName(runEnvironment: string): string {
  const plain = `berth-${runEnvironment}-control`;
  if (plain.length <= 64) return plain;
  const hash = createHash('sha256').update(runEnvironment).digest('hex').slice(0, 8);
  return `berth-${runEnvironment.slice(0, 40)}-${hash}-control`;
}

export function controlRoleArn(partition: string, account: string, runEnvironment: string): string {
  return `arn:${partition}:iam::${account}:role/${controlRoleName(runEnvironment)}`;
}

export function defaultClusterName(runEnvironment: string): string {
  return `berth-${runEnvironment.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

/** Tags on every stack (CloudFormation passes them on to the resources). */
export function stackTags(a: SetupAnswers): Record<string, string> {
  return { 'berth:run-environment': a.runEnvironment, 'berth:created-by': 'berth-setup-aws' };
}

export function networkStack(a: SetupAnswers & { network: { mode: 'create' } }, names: StackNames): StackSpec {
  const n = a.network;
  return {
    name: names.network,
    template: 'network.yaml',
    parameters: {
      AvailabilityZone1: n.zones[0]!,
      AvailabilityZone2: n.zones[1]!,
      AvailabilityZone3: n.zones[2] ?? '',
      NatGateways: n.nat,
      EnableS3GatewayEndpoint: String(n.s3Endpoint),
      EnableInterfaceEndpoints: String(n.interfaceEndpoints),
    },
    tags: stackTags(a),
  };
}

export function clusterStack(a: SetupAnswers, names: StackNames): StackSpec {
  return {
    name: names.cluster,
    template: 'cluster.yaml',
    parameters: {
      ClusterName: a.cluster.name,
      CreateCluster: String(a.cluster.mode === 'create'),
      ContainerInsights: a.containerInsights,
      LogGroupName: a.logGroup,
      LogRetentionDays: String(a.logRetentionDays),
      SecretNamePrefix: a.secretNamePrefix,
    },
    tags: stackTags(a),
  };
}

/** The cluster stack's outputs the later steps need. */
export interface ClusterOutputs {
  ClusterName: string;
  ExecutionRoleArn: string;
  TaskRoleArn: string;
  LogGroupName: string;
}

export function controlRoleStack(
  a: SetupAnswers,
  names: StackNames,
  cluster: ClusterOutputs,
  externalId: string,
  secretChanged: boolean,
): StackSpec {
  return {
    name: names.controlRole,
    template: 'control-role.yaml',
    parameters: {
      TrustMode: 'aws-principal',
      TrustedPrincipal: a.trustedPrincipal,
      ExternalId: externalId,
      ClusterName: cluster.ClusterName,
      TaskDefinitionPrefix: a.taskDefinitionPrefix,
      ExecutionRoleArn: cluster.ExecutionRoleArn,
      TaskRoleArn: cluster.TaskRoleArn,
      // The Run Environment's own log group: the role may create and read it and nothing else
      // under /berth/ (the grant is on the prefix, so a group whose name starts the same is included).
      LogGroupPrefix: cluster.LogGroupName,
      SecretNamePrefix: a.secretNamePrefix,
      EnableServices: String(a.services),
      EnableEventBridgeSchedules: String(a.eventBridgeSchedules),
      RoleName: controlRoleName(a.runEnvironment),
    },
    noEcho: ['ExternalId'],
    secretChanged,
    tags: stackTags(a),
  };
}

/** Where the tasks' network comes from: the network stack's outputs, or the chosen ids. */
export function networkFields(choice: NetworkChoice, networkOutputs: Record<string, string> | null): { subnets: string[]; security_groups: string[] } {
  if (choice.mode === 'existing') return { subnets: choice.subnets, security_groups: choice.securityGroups };
  const subnets = (networkOutputs?.PrivateSubnetIds ?? '').split(',').filter((s) => s !== '');
  const group = networkOutputs?.TaskSecurityGroupId;
  return { subnets, security_groups: group ? [group] : [] };
}

/** The fields of the Run Environment the wizard owns (everything else of an existing one is kept). */
export function runEnvironmentFields(
  a: SetupAnswers,
  network: { subnets: string[]; security_groups: string[] },
  cluster: ClusterOutputs,
  roleArn: string,
  externalId: string,
): Record<string, unknown> {
  return {
    name: a.runEnvironment,
    kind: 'aws-ecs',
    region: a.region,
    cluster: cluster.ClusterName,
    subnets: network.subnets,
    security_groups: network.security_groups,
    assign_public_ip: a.assignPublicIp,
    execution_role_arn: cluster.ExecutionRoleArn,
    task_role_arn: cluster.TaskRoleArn,
    log_group: cluster.LogGroupName,
    task_definition_prefix: a.taskDefinitionPrefix,
    role_arn: roleArn,
    external_id: externalId,
    endpoint_url: a.endpointUrl ?? undefined,
  };
}

/** Fields the API adds to a Run Environment that are not part of what is sent. */
const STORED_ONLY = ['uuid', 'created_at', 'updated_at'];

/**
 * The body to send (the existing Run Environment with the wizard's fields laid over it, so that
 * fields the wizard does not manage — tags, environment, secrets… — stay), and what changes.
 */
export function mergeRunEnvironment(
  existing: RunEnvironment | null,
  fields: Record<string, unknown>,
): { body: Record<string, unknown>; action: 'create' | 'update' | 'unchanged'; changed: string[] } {
  if (!existing) {
    const body = Object.fromEntries(Object.entries({ description: 'Set up by berth setup aws.', ...fields }).filter(([, v]) => v !== undefined));
    return { body, action: 'create', changed: [] };
  }
  const base: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(existing)) {
    if (STORED_ONLY.includes(key) || value === null || value === undefined) continue;
    base[key] = value;
  }
  const body: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) delete body[key];
    else body[key] = value;
  }
  const changed = [...new Set([...Object.keys(base), ...Object.keys(body)])].filter((k) => !isDeepStrictEqual(base[k], body[k])).sort();
  return { body, action: changed.length === 0 ? 'unchanged' : 'update', changed };
}
