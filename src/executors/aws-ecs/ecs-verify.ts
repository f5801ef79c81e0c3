/**
 * `berth verify`: a preflight of an aws-ecs Run Environment (and optionally one of its Tasks),
 * made with the same region, endpoint and credentials (assumed control role included) that
 * launches use. One check per thing, each with a message that names it and, when it fails, a fix
 * in berth.yaml terms. A check never stops the others: every error becomes that check's result.
 *
 * What each check calls is listed in docs/verify.md. The pure parts (trust policies, ECR image
 * names, secret ARNs, how a cluster's capacity providers fit the Run Environment, how subnets and
 * security groups fit together) are exported for unit tests.
 */
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeSecurityGroupsCommand, DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { DescribeClustersCommand, ECSClient } from '@aws-sdk/client-ecs';
import type { Cluster, ContainerDefinition } from '@aws-sdk/client-ecs';
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DescribeParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { checkFargateSize, clusterName } from '../../domain/aws.js';
import { effectiveFargateSize } from '../../domain/ecs-task.js';
import type { AwsEcsRunEnvironmentSpec } from '../../domain/run-environment.js';
import { parseSecretRef } from '../../domain/secret-ref.js';
import type { TaskSpec } from '../../domain/task.js';
import type { VerifyCheck } from '../executor.js';
import { classifyAwsError, describeAwsError, sleep, withRetry } from './aws-calls.js';
import type { RetryOptions } from './aws-calls.js';
import type { AwsClientConfig, AwsTimeouts } from './ecs-clients.js';
import { buildTaskDefinition, logGroupOf } from './task-definition.js';

/** Fewer and shorter retries than launches: a person is waiting for the answer. */
export const VERIFY_RETRY: RetryOptions = { attempts: 3, baseDelayMs: 200, maxDelayMs: 2000 };

const ECS_TASKS = 'ecs-tasks.amazonaws.com';

// ---------------------------------------------------------------------------------------------
// Pure parts
// ---------------------------------------------------------------------------------------------

/** What a role's trust policy says about ECS tasks. */
export interface TrustVerdict {
  trusted: boolean;
  /** The principals the policy lets assume the role, e.g. `Service ec2.amazonaws.com`. */
  principals: string[];
  /** Why it does not trust ECS tasks, when it does not. */
  problem?: string;
}

type Json = Record<string, unknown>;

function asList(value: unknown): unknown[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** A trust policy document as IAM returns it (URL-encoded JSON) or as written (JSON). */
export function parsePolicyDocument(document: string): Json | null {
  for (const text of [document, safeDecode(document)]) {
    if (text === null) continue;
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Json;
    } catch {
      // try the next form
    }
  }
  return null;
}

function safeDecode(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

function allowsAssumeRole(action: unknown): boolean {
  return asList(action).some((a) => typeof a === 'string' && /^(\*|sts:\*|sts:assumerole)$/i.test(a));
}

function principalsOf(principal: unknown): string[] {
  if (principal === '*') return ['*'];
  if (principal === null || typeof principal !== 'object') return [];
  return Object.entries(principal as Json).flatMap(([kind, values]) => asList(values).map((v) => `${kind} ${String(v)}`));
}

/** Whether the trust policy lets ECS tasks (`ecs-tasks.amazonaws.com`) assume the role. */
export function ecsTasksTrust(document: string | undefined): TrustVerdict {
  if (!document) return { trusted: false, principals: [], problem: 'the role has no trust policy' };
  const policy = parsePolicyDocument(document);
  if (!policy) return { trusted: false, principals: [], problem: 'its trust policy is not readable JSON' };
  const statements = asList(policy.Statement).filter((s): s is Json => s !== null && typeof s === 'object');
  const principals: string[] = [];
  let allowed = false;
  let denied = false;
  for (const statement of statements) {
    if (!allowsAssumeRole(statement.Action)) continue;
    const names = principalsOf(statement.Principal);
    const ecs = names.some((p) => p.toLowerCase() === `service ${ECS_TASKS}`);
    if (statement.Effect === 'Allow') {
      principals.push(...names);
      if (ecs) allowed = true;
    } else if (statement.Effect === 'Deny' && (ecs || names.includes('*'))) {
      denied = true;
    }
  }
  const unique = [...new Set(principals)];
  if (denied) return { trusted: false, principals: unique, problem: `its trust policy denies sts:AssumeRole to ${ECS_TASKS}` };
  if (!allowed) {
    return {
      trusted: false,
      principals: unique,
      problem: `its trust policy does not allow ${ECS_TASKS} to assume it (it allows: ${unique.length ? unique.join(', ') : 'nobody'})`,
    };
  }
  return { trusted: true, principals: unique };
}

/** An image in a private ECR registry: `<account>.dkr.ecr.<region>.amazonaws.com/<repo>[:tag][@digest]`. */
export interface EcrImage {
  registryId: string;
  region: string;
  repository: string;
  /** The tag, `latest` when neither a tag nor a digest is given. */
  tag?: string;
  digest?: string;
}

const ECR_IMAGE = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([^:@\s]+)(?::([\w][\w.-]{0,127}))?(?:@(sha256:[0-9a-f]{64}))?$/;

/** The ECR coordinates of an image name, or null when it is not a private ECR image. */
export function parseEcrImage(image: string): EcrImage | null {
  const m = ECR_IMAGE.exec(image.trim());
  if (!m) return null;
  const [, registryId, region, repository, tag, digest] = m;
  return {
    registryId: registryId!,
    region: region!,
    repository: repository!,
    ...(digest ? { digest } : { tag: tag ?? 'latest' }),
  };
}

/** Where a secret lives, as ECS reads it from a container definition's `valueFrom`. */
export type SecretTarget =
  | {
      service: 'secretsmanager';
      region: string;
      account: string;
      /** The secret's ARN without the JSON key / version suffix: what DescribeSecret takes. */
      secretId: string;
      name: string;
      jsonKey?: string;
      versionStage?: string;
      versionId?: string;
    }
  | { service: 'ssm'; region: string; account: string | null; name: string };

/**
 * The secret a `valueFrom` names. Secrets Manager ARNs may carry `:json-key:version-stage:version-id`;
 * SSM parameter ARNs name `parameter/a/b` for the parameter `/a/b`; a bare name is an SSM parameter
 * in the Run Environment's region (as ECS reads it).
 */
export function secretTarget(valueFrom: string, defaultRegion: string): SecretTarget {
  const parsed = parseSecretRef(valueFrom);
  if (parsed.ok && parsed.ref.provider === 'AWS_SM') {
    const parts = valueFrom.split(':');
    const [jsonKey, versionStage, versionId] = parts.slice(7);
    const secretId = parts.slice(0, 7).join(':');
    return {
      service: 'secretsmanager',
      region: parts[3]!,
      account: parts[4]!,
      secretId,
      name: parts[6]!,
      ...(jsonKey ? { jsonKey } : {}),
      ...(versionStage ? { versionStage } : {}),
      ...(versionId ? { versionId } : {}),
    };
  }
  if (parsed.ok && parsed.ref.provider === 'AWS_SSM') {
    const parts = valueFrom.split(':');
    const rest = parts.slice(5).join(':').slice('parameter/'.length);
    return { service: 'ssm', region: parts[3]!, account: parts[4]!, name: rest.includes('/') ? `/${rest}` : rest };
  }
  return { service: 'ssm', region: defaultRegion, account: null, name: valueFrom };
}

/** The capacity check, from the cluster's capacity providers and how the Run Environment launches. */
export function capacityCheck(env: AwsEcsRunEnvironmentSpec, cluster: Pick<Cluster, 'capacityProviders' | 'clusterName'>): VerifyCheck {
  const name = 'fargate capacity';
  const seen = cluster.capacityProviders ?? [];
  const seenText = seen.length ? `the cluster has ${seen.join(', ')}` : 'the cluster reports no capacity providers';
  const needed = env.capacity_provider_strategy
    ? env.capacity_provider_strategy.map((c) => c.capacity_provider)
    : env.launch_type === 'FARGATE_SPOT'
      ? ['FARGATE_SPOT']
      : [];
  const where = `Run Environment "${env.name}"`;
  if (needed.length === 0) {
    return {
      name,
      status: 'pass',
      message: `launch type FARGATE needs no capacity provider on the cluster (${seenText})`,
    };
  }
  const missing = needed.filter((p) => !seen.includes(p));
  if (missing.length) {
    const using = env.capacity_provider_strategy ? 'capacity_provider_strategy names' : 'launch_type FARGATE_SPOT uses';
    return {
      name,
      status: 'fail',
      message: `${using} ${missing.join(', ')}, but ${seenText}`,
      fix: `Associate the providers with the cluster (aws ecs put-cluster-capacity-providers --cluster ${cluster.clusterName ?? '<cluster>'} --capacity-providers FARGATE FARGATE_SPOT --default-capacity-provider-strategy capacityProvider=FARGATE,weight=1), or set launch_type: FARGATE in ${where}.`,
    };
  }
  const other = needed.filter((p) => p !== 'FARGATE' && p !== 'FARGATE_SPOT');
  if (other.length) {
    return {
      name,
      status: 'warn',
      message: `capacity_provider_strategy names ${other.join(', ')}, which are not Fargate providers; Berth's tasks need Fargate`,
      fix: `Use FARGATE and/or FARGATE_SPOT in capacity_provider_strategy of ${where}.`,
    };
  }
  return { name, status: 'pass', message: `${needed.join(' and ')} ${needed.length > 1 ? 'are' : 'is'} associated with the cluster (${seenText})` };
}

/** The subnets check, from what EC2 found (subnet id → VPC id). Returns the VPC when there is one. */
export function subnetsCheck(env: AwsEcsRunEnvironmentSpec, found: ReadonlyMap<string, string>): { check: VerifyCheck; vpc: string | null } {
  const name = 'subnets';
  const where = `subnets of Run Environment "${env.name}"`;
  const missing = env.subnets.filter((s) => !found.has(s));
  const vpcs = [...new Set(env.subnets.filter((s) => found.has(s)).map((s) => found.get(s)!))];
  const vpc = vpcs.length === 1 ? vpcs[0]! : null;
  if (missing.length) {
    return {
      check: {
        name,
        status: 'fail',
        message: `${plural(missing.length, 'subnet')} ${missing.join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist in ${env.region}`,
        fix: `Remove ${missing.join(', ')} from ${where}, or replace ${missing.length === 1 ? 'it' : 'them'} with subnets that exist (aws ec2 describe-subnets --region ${env.region}).`,
      },
      vpc,
    };
  }
  if (vpcs.length > 1) {
    return {
      check: {
        name,
        status: 'fail',
        message: `the subnets are in ${vpcs.length} VPCs: ${env.subnets.map((s) => `${s} (${found.get(s)})`).join(', ')}`,
        fix: `Use subnets of one VPC in ${where}: a task's network interface lives in a single VPC.`,
      },
      vpc: null,
    };
  }
  return { check: { name, status: 'pass', message: `${env.subnets.join(', ')} in ${vpc}` }, vpc };
}

/** The security groups check, from what EC2 found (group id → VPC id) and the subnets' VPC. */
export function securityGroupsCheck(env: AwsEcsRunEnvironmentSpec, found: ReadonlyMap<string, string>, vpc: string | null): VerifyCheck {
  const name = 'security groups';
  const where = `security_groups of Run Environment "${env.name}"`;
  const missing = env.security_groups.filter((g) => !found.has(g));
  if (missing.length) {
    return {
      name,
      status: 'fail',
      message: `${plural(missing.length, 'security group')} ${missing.join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist in ${env.region}`,
      fix: `Remove ${missing.join(', ')} from ${where}, or replace ${missing.length === 1 ? 'it' : 'them'} with groups of ${vpc ?? 'the subnets\' VPC'}.`,
    };
  }
  if (vpc === null) {
    return {
      name,
      status: 'warn',
      message: `${env.security_groups.map((g) => `${g} (${found.get(g)})`).join(', ')} exist; not compared with the subnets' VPC, which is unclear (see the subnets check)`,
      fix: `Fix subnets first; then the security groups must be in the same VPC as them.`,
    };
  }
  const elsewhere = env.security_groups.filter((g) => found.get(g) !== vpc);
  if (elsewhere.length) {
    return {
      name,
      status: 'fail',
      message: `${elsewhere.map((g) => `${g} is in ${found.get(g)}`).join(', ')}, but the subnets are in ${vpc}`,
      fix: `Use security groups of ${vpc} in ${where} (aws ec2 describe-security-groups --filters Name=vpc-id,Values=${vpc}).`,
    };
  }
  return { name, status: 'pass', message: `${env.security_groups.join(', ')} in ${vpc}` };
}

/** The Fargate size check of a Task (validation already refuses bad sizes; a later platform_version change does not). */
export function fargateSizeCheck(task: TaskSpec, env: AwsEcsRunEnvironmentSpec): VerifyCheck {
  const { cpu, memory } = effectiveFargateSize(task);
  const problem = checkFargateSize(cpu, memory, env.platform_version);
  if (problem) {
    return {
      name: 'fargate size',
      status: 'fail',
      message: `Task "${task.name}": ${problem}`,
      fix: `Change cpu/memory of Task "${task.name}" (or platform_version of Run Environment "${env.name}") to a valid Fargate combination (docs/aws-ecs.md lists them).`,
    };
  }
  return { name: 'fargate size', status: 'pass', message: `cpu ${cpu}, memory ${memory} MiB is a valid Fargate size` };
}

/** One secret a Task (or its Run Environment) references, with where it is written. */
export interface SecretUse {
  /** `DB_PASSWORD` in the main container, `container.VAR` in another. */
  label: string;
  valueFrom: string;
  /** Where to change it, in berth.yaml terms. */
  where: string;
}

/** The secrets a Run Environment references by itself (checked without --task). */
export function environmentSecrets(env: AwsEcsRunEnvironmentSpec): SecretUse[] {
  const uses: SecretUse[] = Object.entries(env.secrets).map(([variable, valueFrom]) => ({
    label: variable,
    valueFrom,
    where: `secrets.${variable} of Run Environment "${env.name}"`,
  }));
  if (env.api_key_secret) {
    uses.push({ label: 'PROC_WRAPPER_API_KEY', valueFrom: env.api_key_secret, where: `api_key_secret of Run Environment "${env.name}"` });
  }
  return uses;
}

/** Every secret ECS will read for the Task: its task definition's containers' `secrets`, with their origin. */
export function taskSecrets(task: TaskSpec, env: AwsEcsRunEnvironmentSpec, containers: readonly ContainerDefinition[], main: string): SecretUse[] {
  const uses: SecretUse[] = [];
  const seen = new Set<string>();
  for (const container of containers) {
    const isMain = container.name === main;
    const sidecar = task.sidecars?.find((s) => s.name === container.name);
    for (const secret of container.secrets ?? []) {
      if (!secret.name || !secret.valueFrom) continue;
      const variable = secret.name;
      const label = isMain ? variable : `${container.name}.${variable}`;
      if (seen.has(`${label}|${secret.valueFrom}`)) continue;
      seen.add(`${label}|${secret.valueFrom}`);
      let where: string;
      if (isMain && task.secrets[variable] === secret.valueFrom) where = `secrets.${variable} of Task "${task.name}"`;
      else if (isMain && variable === 'PROC_WRAPPER_API_KEY' && env.api_key_secret === secret.valueFrom) where = `api_key_secret of Run Environment "${env.name}"`;
      else if (isMain && env.secrets[variable] === secret.valueFrom) where = `secrets.${variable} of Run Environment "${env.name}"`;
      else if (sidecar && sidecar.secrets[variable] === secret.valueFrom) where = `sidecars[${sidecar.name}].secrets.${variable} of Task "${task.name}"`;
      else where = `task_definition (container ${container.name}, secret ${variable}) of Task "${task.name}"`;
      uses.push({ label, valueFrom: secret.valueFrom, where });
    }
  }
  return uses;
}

function plural(n: number, word: string): string {
  return n === 1 ? word : `${word}s`;
}

// ---------------------------------------------------------------------------------------------
// The checks against AWS
// ---------------------------------------------------------------------------------------------

export interface VerifyOptions {
  retry?: RetryOptions;
  wait?: (ms: number) => Promise<void>;
}

interface AwsError {
  name?: string;
  message?: string;
}

function errorName(error: unknown): string {
  return (error as AwsError | undefined)?.name ?? '';
}

/** Bounds on one verify call, so an endpoint that never answers fails its checks instead of hanging. */
const VERIFY_TIMEOUTS: AwsTimeouts = { connectionTimeout: 5_000, requestTimeout: 10_000, throwOnRequestTimeout: true };

type VerifyClientConfig = AwsClientConfig & { requestHandler: AwsTimeouts };

/** Lazily built clients with the Run Environment's settings; one per service and region. */
class VerifyClients {
  private readonly made = new Map<string, { destroy(): void }>();

  constructor(private readonly config: AwsClientConfig) {}

  private get<T extends { destroy(): void }>(service: string, region: string, make: (config: VerifyClientConfig) => T): T {
    const key = `${service}|${region}`;
    let client = this.made.get(key) as T | undefined;
    if (!client) {
      client = make({ ...this.config, region, requestHandler: VERIFY_TIMEOUTS });
      this.made.set(key, client);
    }
    return client;
  }

  sts = () => this.get('sts', this.config.region, (c) => new STSClient(c));
  ecs = () => this.get('ecs', this.config.region, (c) => new ECSClient(c));
  ec2 = () => this.get('ec2', this.config.region, (c) => new EC2Client(c));
  iam = () => this.get('iam', this.config.region, (c) => new IAMClient(c));
  logs = () => this.get('logs', this.config.region, (c) => new CloudWatchLogsClient(c));
  secrets = (region: string) => this.get('secretsmanager', region, (c) => new SecretsManagerClient(c));
  ssm = (region: string) => this.get('ssm', region, (c) => new SSMClient(c));
  ecr = (region: string) => this.get('ecr', region, (c) => new ECRClient(c));

  destroy(): void {
    for (const client of this.made.values()) client.destroy();
    this.made.clear();
  }
}

/**
 * Runs every check of `env` (and of `task`, when given) and returns them in a fixed order:
 * credentials, cluster, fargate capacity, subnets, security groups, execution role, task role,
 * log group, then secrets, images and the Fargate size.
 */
export async function verifyEcsEnvironment(
  env: AwsEcsRunEnvironmentSpec,
  task: TaskSpec | null,
  config: AwsClientConfig,
  options: VerifyOptions = {},
): Promise<VerifyCheck[]> {
  const clients = new VerifyClients(config);
  try {
    return await new Verifier(env, task, clients, options.retry ?? VERIFY_RETRY, options.wait ?? sleep).run();
  } finally {
    clients.destroy();
  }
}

class Verifier {
  private readonly where: string;
  private account: string | null = null;

  constructor(
    private readonly env: AwsEcsRunEnvironmentSpec,
    private readonly task: TaskSpec | null,
    private readonly clients: VerifyClients,
    private readonly retry: RetryOptions,
    private readonly wait: (ms: number) => Promise<void>,
  ) {
    this.where = `Run Environment "${env.name}"`;
  }

  private call<T>(send: () => Promise<T>): Promise<T> {
    return withRetry(send, this.retry, this.wait);
  }

  /** What a check reports for an error it did not expect: denied actions named, credentials explained. */
  private failure(name: string, action: string, error: unknown, fix?: string): VerifyCheck {
    const kind = classifyAwsError(error);
    const who = this.env.role_arn ? `the control role ${this.env.role_arn} (role_arn)` : "the credentials of berth server";
    if (kind === 'denied' || errorName(error) === 'CredentialsProviderError') {
      const text = (error as AwsError).message || errorName(error) || String(error);
      const noCredentials = errorName(error) === 'CredentialsProviderError';
      const credentials = noCredentials || /security token|client token|credential/i.test(text);
      return {
        name,
        status: 'fail',
        message: noCredentials ? `Berth found no AWS credentials for ${action}: ${text}` : `AWS denied ${action}: ${text}`,
        fix: credentials
          ? 'Fix the credentials first (see the credentials check).'
          : `Allow ${action} for ${who}; docs/verify.md lists the read-only actions verify needs.`,
      };
    }
    const endpoint = this.env.endpoint_url ? ` at ${this.env.endpoint_url} (endpoint_url)` : '';
    return {
      name,
      status: 'fail',
      message: describeAwsError(action, error),
      fix: fix ?? (kind === 'unknown-outcome' || kind === 'transient' ? `Check that AWS${endpoint} is reachable from the Berth server, then run verify again.` : `Check the settings of ${this.where}.`),
    };
  }

  /** Runs a check; anything it throws becomes its failed result, so one check never stops another. */
  private async guard(name: string, action: string, check: () => Promise<VerifyCheck | VerifyCheck[]>): Promise<VerifyCheck[]> {
    try {
      const result = await check();
      return Array.isArray(result) ? result : [result];
    } catch (error) {
      return [this.failure(name, action, error)];
    }
  }

  async run(): Promise<VerifyCheck[]> {
    // Credentials first: the account they name tells the role checks what IAM can answer for.
    const credentials = await this.guard('credentials', 'sts:GetCallerIdentity', () => this.credentials());
    const cluster = this.describeCluster();
    const groups = await Promise.all([
      this.guard('cluster', 'ecs:DescribeClusters', () => cluster.then((c) => this.clusterCheck(c))),
      this.guard('fargate capacity', 'ecs:DescribeClusters', () =>
        cluster.then(
          (c) => this.capacity(c),
          (): VerifyCheck => ({ name: 'fargate capacity', status: 'skip', message: 'the cluster could not be described (see the cluster check)' }),
        ),
      ),
      this.network(),
      this.guard('execution role', 'iam:GetRole', () => this.role('execution role', 'execution_role_arn', this.env.execution_role_arn)),
      this.guard('task role', 'iam:GetRole', () => this.role('task role', 'task_role_arn', this.env.task_role_arn)),
      this.guard('log group', 'logs:DescribeLogGroups', () => this.logGroup()),
      this.secrets(),
      this.images(),
      this.task ? this.guard('fargate size', 'checkFargateSize', async () => fargateSizeCheck(this.task!, this.env)) : Promise.resolve([]),
    ]);
    return [...credentials, ...groups.flat()];
  }

  private async credentials(): Promise<VerifyCheck> {
    try {
      const identity = await this.call(() => this.clients.sts().send(new GetCallerIdentityCommand({})));
      this.account = identity.Account ?? null;
      const assumed = this.env.role_arn ? ` (assumed role_arn ${this.env.role_arn})` : '';
      return { name: 'credentials', status: 'pass', message: `AWS accepts them: ${identity.Arn ?? 'unknown identity'}${assumed}` };
    } catch (error) {
      const text = (error as AwsError).message || errorName(error) || String(error);
      const kind = classifyAwsError(error);
      if (this.env.role_arn && (kind === 'denied' || kind === 'client')) {
        return {
          name: 'credentials',
          status: 'fail',
          message: `Berth could not assume role_arn ${this.env.role_arn}: ${text}`,
          fix: `Check role_arn${this.env.external_id ? ' and external_id' : ''} of ${this.where}: the role must exist and its trust policy must let the credentials of berth server call sts:AssumeRole${this.env.external_id ? ' with that external ID' : ''}.`,
        };
      }
      if (kind === 'denied' || errorName(error) === 'CredentialsProviderError') {
        return {
          name: 'credentials',
          status: 'fail',
          message: `AWS does not accept the credentials of berth server: ${text}`,
          fix: 'Give berth server AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or an instance or task role), and set role_arn if Berth should assume a control role.',
        };
      }
      return this.failure('credentials', 'sts:GetCallerIdentity', error);
    }
  }

  private describeCluster(): Promise<Cluster | null> {
    const promise = this.call(() => this.clients.ecs().send(new DescribeClustersCommand({ clusters: [this.env.cluster] }))).then(
      (answer) => answer.clusters?.[0] ?? null,
      (error: unknown) => {
        if (errorName(error) === 'ClusterNotFoundException') return null;
        throw error;
      },
    );
    promise.catch(() => undefined); // both checks report it
    return promise;
  }

  private clusterCheck(cluster: Cluster | null): VerifyCheck {
    const name = clusterName(this.env.cluster);
    if (!cluster) {
      return {
        name: 'cluster',
        status: 'fail',
        message: `ECS has no cluster "${name}" in ${this.env.region}`,
        fix: `Create it (aws ecs create-cluster --cluster-name ${name} --region ${this.env.region}) or correct cluster in ${this.where}.`,
      };
    }
    if (cluster.status !== 'ACTIVE') {
      return {
        name: 'cluster',
        status: 'fail',
        message: `cluster "${name}" is ${cluster.status ?? 'in an unknown state'}, not ACTIVE`,
        fix: `An INACTIVE cluster has been deleted: create it again or point cluster in ${this.where} at an ACTIVE one.`,
      };
    }
    return { name: 'cluster', status: 'pass', message: `${cluster.clusterArn ?? name} is ACTIVE` };
  }

  private capacity(cluster: Cluster | null): VerifyCheck {
    if (!cluster || cluster.status !== 'ACTIVE') {
      return { name: 'fargate capacity', status: 'skip', message: 'no ACTIVE cluster to look at (see the cluster check)' };
    }
    return capacityCheck(this.env, cluster);
  }

  /** Subnets, then security groups (which must be in the subnets' VPC). */
  private async network(): Promise<VerifyCheck[]> {
    let vpc: string | null = null;
    const subnets = await this.guard('subnets', 'ec2:DescribeSubnets', async () => {
      const answer = await this.call(() =>
        this.clients.ec2().send(new DescribeSubnetsCommand({ Filters: [{ Name: 'subnet-id', Values: this.env.subnets }] })),
      );
      const found = new Map((answer.Subnets ?? []).flatMap((s) => (s.SubnetId && s.VpcId ? [[s.SubnetId, s.VpcId] as const] : [])));
      const result = subnetsCheck(this.env, found);
      vpc = result.vpc;
      return result.check;
    });
    const groups = await this.guard('security groups', 'ec2:DescribeSecurityGroups', async () => {
      const answer = await this.call(() =>
        this.clients.ec2().send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-id', Values: this.env.security_groups }] })),
      );
      const found = new Map((answer.SecurityGroups ?? []).flatMap((g) => (g.GroupId && g.VpcId ? [[g.GroupId, g.VpcId] as const] : [])));
      return securityGroupsCheck(this.env, found, vpc);
    });
    return [...subnets, ...groups];
  }

  private async role(name: string, field: string, arn: string | undefined): Promise<VerifyCheck> {
    if (!arn) {
      return { name, status: 'skip', message: `no ${field}: the Task's own code runs without an AWS role` };
    }
    const account = arn.split(':')[4] ?? '';
    const roleName = arn.slice(arn.lastIndexOf('/') + 1);
    if (this.account && account !== this.account) {
      return {
        name,
        status: 'skip',
        message: `${arn} is in account ${account}, Berth's credentials in ${this.account}; IAM only describes roles of its own account, so it was not checked`,
      };
    }
    let role;
    try {
      role = (await this.call(() => this.clients.iam().send(new GetRoleCommand({ RoleName: roleName })))).Role;
    } catch (error) {
      if (errorName(error) !== 'NoSuchEntityException') throw error;
    }
    if (!role) {
      const policy = field === 'execution_role_arn' ? ' and the AmazonECSTaskExecutionRolePolicy policy' : '';
      return {
        name,
        status: 'fail',
        message: `IAM role ${roleName} (${field}) does not exist in account ${account}`,
        fix: `Create the role, trusting ${ECS_TASKS}${policy}, or correct ${field} of ${this.where}.`,
      };
    }
    if (role.Arn && role.Arn !== arn) {
      return {
        name,
        status: 'fail',
        message: `${field} is ${arn}, but the role named ${roleName} is ${role.Arn} (a different path)`,
        fix: `Set ${field} of ${this.where} to ${role.Arn}.`,
      };
    }
    const trust = ecsTasksTrust(role.AssumeRolePolicyDocument);
    if (!trust.trusted) {
      return {
        name,
        status: 'fail',
        message: `IAM role ${roleName} (${field}): ${trust.problem}`,
        fix: `Add to the trust policy of ${roleName}: {"Effect": "Allow", "Principal": {"Service": "${ECS_TASKS}"}, "Action": "sts:AssumeRole"} (aws iam update-assume-role-policy), or use another role in ${field}.`,
      };
    }
    return { name, status: 'pass', message: `${arn} exists and trusts ${ECS_TASKS}` };
  }

  private async logGroup(): Promise<VerifyCheck> {
    const group = logGroupOf(this.env);
    let nextToken: string | undefined;
    for (let page = 0; page < 10; page++) {
      const answer = await this.call(() =>
        this.clients.logs().send(new DescribeLogGroupsCommand({ logGroupNamePrefix: group, ...(nextToken ? { nextToken } : {}) })),
      );
      if ((answer.logGroups ?? []).some((g) => g.logGroupName === group)) {
        return { name: 'log group', status: 'pass', message: `${group} exists` };
      }
      nextToken = answer.nextToken;
      if (!nextToken) break;
    }
    const field = this.env.log_group ? 'log_group' : 'the default log group (no log_group set)';
    return {
      name: 'log group',
      status: 'warn',
      message: `${group} (${field}) does not exist yet; Berth creates it at the first launch, which needs logs:CreateLogGroup on it`,
      fix: `Nothing to do if the control role may create it (the control-role template allows it); otherwise create it (aws logs create-log-group --log-group-name ${group}) or set log_group of ${this.where} to a group that exists.`,
    };
  }

  /** The Task's definition as Berth would register it, or null without a Task. */
  private definition(): { containers: ContainerDefinition[]; main: string } | null {
    if (!this.task) return null;
    const built = buildTaskDefinition(this.task, this.env);
    return { containers: built.input.containerDefinitions ?? [], main: built.mainContainer };
  }

  private async secrets(): Promise<VerifyCheck[]> {
    let uses: SecretUse[];
    try {
      const definition = this.definition();
      uses = definition ? taskSecrets(this.task!, this.env, definition.containers, definition.main) : environmentSecrets(this.env);
    } catch (error) {
      return [{ name: 'secrets', status: 'fail', message: `Berth could not build the task definition: ${(error as Error).message}`, fix: `Check task_definition of Task "${this.task?.name}".` }];
    }
    if (uses.length === 0) {
      const whose = this.task ? `Task "${this.task.name}" and ${this.where} reference` : `${this.where} references`;
      return [{ name: 'secrets', status: 'skip', message: `${whose} no secrets` }];
    }
    const byTarget = new Map<string, Promise<VerifyCheck[]>>();
    return (
      await Promise.all(
        uses.map((use) => {
          const name = `secret ${use.label}`;
          const target = secretTarget(use.valueFrom, this.env.region);
          const action = target.service === 'secretsmanager' ? 'secretsmanager:DescribeSecret' : 'ssm:DescribeParameters';
          // One call per secret, even when several variables name it.
          const key = use.valueFrom;
          let look = byTarget.get(key);
          if (!look) {
            look = this.guard(name, action, () => this.secret(name, target, use));
            byTarget.set(key, look);
            return look;
          }
          return look.then((checks) => checks.map((c) => ({ ...c, name })));
        }),
      )
    ).flat();
  }

  private async secret(name: string, target: SecretTarget, use: SecretUse): Promise<VerifyCheck> {
    const fixRef = `or correct ${use.where}`;
    if (target.service === 'secretsmanager') {
      let secret;
      try {
        secret = await this.call(() => this.clients.secrets(target.region).send(new DescribeSecretCommand({ SecretId: target.secretId })));
      } catch (error) {
        if (errorName(error) !== 'ResourceNotFoundException') throw error;
        return {
          name,
          status: 'fail',
          message: `Secrets Manager secret ${target.name} does not exist in ${target.region} (account ${target.account})`,
          fix: `Create it (aws secretsmanager create-secret --name ${target.name.replace(/-[A-Za-z0-9]{6}$/, '')} --region ${target.region}) ${fixRef}.`,
        };
      }
      if (secret.DeletedDate) {
        return {
          name,
          status: 'fail',
          message: `Secrets Manager secret ${secret.Name ?? target.name} is scheduled for deletion`,
          fix: `Restore it (aws secretsmanager restore-secret --secret-id ${secret.ARN ?? target.secretId}) ${fixRef}.`,
        };
      }
      const versions = secret.VersionIdsToStages ?? {};
      if (target.versionId && !(target.versionId in versions)) {
        return { name, status: 'fail', message: `secret ${secret.Name ?? target.name} has no version ${target.versionId}`, fix: `Use a version that exists ${fixRef}.` };
      }
      if (target.versionStage && !Object.values(versions).some((stages) => stages.includes(target.versionStage!))) {
        return { name, status: 'fail', message: `secret ${secret.Name ?? target.name} has no version labelled ${target.versionStage}`, fix: `Use a staging label that exists (AWSCURRENT) ${fixRef}.` };
      }
      const key = target.jsonKey ? `; its JSON key ${target.jsonKey} is inside the value, which verify does not read` : '';
      return { name, status: 'pass', message: `Secrets Manager secret ${secret.Name ?? target.name} exists${key}` };
    }
    // Metadata only: GetParameter would hand Berth the value, which it must never need.
    const found = await this.call(() =>
      this.clients.ssm(target.region).send(
        new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [target.name] }] }),
      ),
    );
    if ((found.Parameters ?? []).length === 0) {
      return {
        name,
        status: 'fail',
        message: `SSM parameter ${target.name} does not exist in ${target.region}${target.account ? ` (account ${target.account})` : ''}`,
        fix: `Create it (aws ssm put-parameter --name ${target.name} --type SecureString --value … --region ${target.region}) ${fixRef}.`,
      };
    }
    return { name, status: 'pass', message: `SSM parameter ${target.name} exists` };
  }

  private async images(): Promise<VerifyCheck[]> {
    if (!this.task) return [];
    let definition;
    try {
      definition = this.definition()!;
    } catch {
      return []; // the secrets check reports it
    }
    if (this.task.passive) {
      return [{ name: 'image', status: 'skip', message: `Task "${this.task.name}" is passive: Berth never launches it` }];
    }
    return (
      await Promise.all(
        definition.containers.map((container) => {
          const name = `image ${container.name ?? '?'}`;
          return this.guard(name, 'ecr:DescribeImages', () => this.image(name, container.image, container.name === definition.main));
        }),
      )
    ).flat();
  }

  private async image(name: string, image: string | undefined, main: boolean): Promise<VerifyCheck> {
    const task = this.task!;
    const field = main ? (task.image !== undefined ? 'image' : 'task_definition') : 'sidecars';
    if (!image) {
      return { name, status: 'fail', message: 'the container has no image', fix: `Set ${field} of Task "${task.name}".` };
    }
    const ecr = parseEcrImage(image);
    if (!ecr) {
      return { name, status: 'skip', message: `${image} is not in a private ECR registry; ECS pulls it at launch (not checked)` };
    }
    const imageId = ecr.digest ? { imageDigest: ecr.digest } : { imageTag: ecr.tag! };
    const shown = ecr.digest ? `digest ${ecr.digest}` : `tag ${ecr.tag}`;
    try {
      const answer = await this.call(() =>
        this.clients.ecr(ecr.region).send(new DescribeImagesCommand({ registryId: ecr.registryId, repositoryName: ecr.repository, imageIds: [imageId] })),
      );
      const found = answer.imageDetails?.[0];
      if (!found) throw Object.assign(new Error('not found'), { name: 'ImageNotFoundException' });
      return { name, status: 'pass', message: `${image} is in ECR (${found.imageDigest ?? 'digest unknown'})` };
    } catch (error) {
      const crossAccount = this.account !== null && ecr.registryId !== this.account;
      if (errorName(error) === 'RepositoryNotFoundException') {
        return {
          name,
          status: 'fail',
          message: `ECR repository ${ecr.repository} does not exist in registry ${ecr.registryId} (${ecr.region})`,
          fix: `Create the repository and push the image (aws ecr create-repository --repository-name ${ecr.repository}; docker push ${image}), or correct ${field} of Task "${task.name}".`,
        };
      }
      if (errorName(error) === 'ImageNotFoundException') {
        return {
          name,
          status: 'fail',
          message: `ECR repository ${ecr.repository} has no image with ${shown}`,
          fix: `Push ${image}, or set ${field} of Task "${task.name}" to one that exists (aws ecr list-images --repository-name ${ecr.repository} --region ${ecr.region}).`,
        };
      }
      if (crossAccount && classifyAwsError(error) === 'denied') {
        return {
          name,
          status: 'warn',
          message: `${image} is in another account's registry (${ecr.registryId}) and Berth's credentials may not describe it: ${(error as AwsError).message ?? errorName(error)}`,
          fix: `Nothing to do if the execution role may pull from it (the repository policy must allow it); verify cannot tell.`,
        };
      }
      throw error;
    }
  }
}
