/**
 * `berth setup aws`: from an AWS account to a working aws-ecs Run Environment.
 *
 * Order (docs/aws-setup.md explains it): the Run Environment's name (it names the stacks and the
 * state file), region, credentials, cluster, network, roles; then a plan and a confirmation; then
 * 1. the network stack (unless an existing VPC is used),
 * 2. the cluster stack (execution role, task role, log group; the cluster unless an existing one is used),
 * 3. the Run Environment in Berth, with role_arn (derived, so known before the role exists) and the
 *    External ID — from here on the External ID lives in Berth's store, never in the state file,
 * 4. the control-role stack, with that External ID (read back from the Run Environment on a re-run),
 * 5. Berth's verify route, when the server has it.
 * Every step is idempotent, so a re-run or a resumed run does only what is missing.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { REGION_PATTERN, CLUSTER_NAME_PATTERN } from '../../domain/aws.js';
import { Name } from '../../domain/common.js';
import type { RunEnvironment } from '../../domain/run-environment.js';
import { seg } from '../client.js';
import type { ApiClient } from '../client.js';
import { contextFor } from '../common.js';
import { CliError, ExitRequest, UsageError } from '../errors.js';
import type { Output } from '../output.js';
import { Progress } from '../progress.js';
import { GivenAnswers, readAnswersFile } from './answers.js';
import type { AnswerKey } from './answers.js';
import { AwsSession } from './aws-session.js';
import type { CallerIdentity } from './aws-session.js';
import {
  listAvailabilityZones,
  listClusters,
  listSecurityGroups,
  listSubnets,
  listVpcs,
  logGroupExists,
  vpcDns,
} from './discovery.js';
import type { ClusterInfo, SubnetInfo, VpcInfo } from './discovery.js';
import { InvalidAnswer, Prompter, parseBoolean, pickFromMenu } from './prompts.js';
import {
  clusterStack,
  controlRoleArn,
  controlRoleName,
  controlRoleStack,
  defaultClusterName,
  mergeRunEnvironment,
  networkFields,
  networkStack,
  runEnvironmentFields,
  stackNames,
} from './setup-plan.js';
import type { ClusterOutputs, NatMode, NetworkChoice, SetupAnswers, StackNames } from './setup-plan.js';
import { SETUP_STEPS, defaultStatePath, readState, savedAnswers, writeState } from './setup-state.js';
import type { SetupState, SetupStep, StepRecord } from './setup-state.js';
import { deployStack, describeStack, planStack } from './stacks.js';
import type { ExistingStack, StackPlan, StackSpec } from './stacks.js';

export interface SetupFlags {
  runEnv?: string;
  region?: string;
  profile?: string;
  endpointUrl?: string;
  answers?: string;
  set?: Partial<Record<AnswerKey, string>>;
  state?: string;
  yes?: boolean;
  dryRun?: boolean;
  nonInteractive?: boolean;
  json?: boolean;
  url?: string;
}

type EcsRunEnvironment = Extract<RunEnvironment, { kind: 'aws-ecs' }>;

/** What one run of the wizard did, step by step (also the --json output). */
export interface SetupReport {
  run_environment: string;
  account: string;
  region: string;
  dry_run: boolean;
  nothing_to_do: boolean;
  state_file: string | null;
  steps: Partial<Record<SetupStep, StepRecord & { detail?: string }>>;
  verify?: { result: 'passed' | 'failed' | 'skipped'; message: string; response?: unknown };
}

const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
const PRINCIPAL_PATTERN = /^(\d{12}|arn:aws[a-z-]*:iam::\d{12}:(root|role\/[\w+=,.@/-]+|user\/[\w+=,.@/-]+))$/;
const SECRET_PREFIX_PATTERN = /^[A-Za-z0-9_.-][A-Za-z0-9_./-]{0,255}$/;
const LOG_GROUP_PATTERN = /^[.\-_/#A-Za-z0-9]{1,512}$/;
const TASK_DEFINITION_PREFIX_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

const now = () => new Date().toISOString();

/** The Run Environment of that name, or null (404). */
async function fetchRunEnvironment(client: ApiClient, name: string): Promise<RunEnvironment | null> {
  try {
    return await client.get<RunEnvironment>(`/api/v1/run_environments/${seg(name)}`);
  } catch (error) {
    if (error instanceof CliError && error.status === 404 && error.code === 'RUN_ENVIRONMENT_NOT_FOUND') return null;
    throw error;
  }
}

function flagAnswers(flags: SetupFlags): Partial<Record<AnswerKey, string>> {
  const out: Partial<Record<AnswerKey, string>> = { ...(flags.set ?? {}) };
  if (flags.runEnv !== undefined) out.run_environment = flags.runEnv;
  if (flags.region !== undefined) out.region = flags.region;
  if (flags.profile !== undefined) out.profile = flags.profile;
  if (flags.endpointUrl !== undefined) out.endpoint_url = flags.endpointUrl;
  return out;
}

function describeSubnet(s: SubnetInfo): string {
  return `${s.id}  ${s.zone}  ${s.cidr.padEnd(16)}  ${s.public ? 'public ' : 'private'}  ${s.freeAddresses} free${s.name ? `  "${s.name}"` : ''}`;
}

function describeVpc(v: VpcInfo, names: StackNames): string {
  const notes = [v.isDefault ? 'default VPC' : null, v.stack === names.network ? `created by ${names.network}` : v.stack ? `stack ${v.stack}` : null].filter(Boolean);
  return `${v.id}  ${v.cidr.padEnd(15)}${v.name ? `  "${v.name}"` : ''}${notes.length ? `  (${notes.join(', ')})` : ''}`;
}

function describeCluster(c: ClusterInfo, names: StackNames): string {
  const created = c.stack === names.cluster ? `  (created by ${names.cluster})` : c.stack ? `  (stack ${c.stack})` : '';
  return `${c.name.padEnd(24)}  ${c.runningTasks} running task${c.runningTasks === 1 ? '' : 's'}${created}`;
}

function numbered(lines: string[]): string[] {
  const width = String(lines.length).length;
  return lines.map((line, i) => `  ${String(i + 1).padStart(width)}) ${line}`);
}

/**
 * The verify route's answer (`{ ok, checks: [{ name, status: pass|fail|warn|skip, message, fix? }] }`,
 * see src/server/api/routes/verify.ts) as lines, read defensively: the CLI may talk to a server of
 * another version.
 */
function verifyOutcome(body: unknown): { passed: boolean; lines: string[] } {
  const b = (body ?? {}) as Record<string, unknown>;
  const checks = Array.isArray(b.checks) ? (b.checks as Record<string, unknown>[]) : [];
  const status = (c: Record<string, unknown>) => (typeof c.status === 'string' ? c.status.toLowerCase() : c.ok === false ? 'fail' : 'pass');
  const failed = b.ok === false || checks.some((c) => status(c) === 'fail');
  const mark: Record<string, string> = { pass: '✓', fail: '✗', warn: '!', skip: '-' };
  const lines = checks.flatMap((c) => {
    const s = status(c);
    const line = `  ${mark[s] ?? '?'} ${String(c.name ?? 'check')}${c.message ? `: ${String(c.message)}` : ''}`;
    return typeof c.fix === 'string' && s !== 'pass' ? [line, `      fix: ${c.fix}`] : [line];
  });
  return { passed: !failed, lines };
}

/** Runs the wizard; resolves when it is done (throws CliError / ExitRequest otherwise). */
export async function runSetupAws(flags: SetupFlags, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const { client, out, settings } = contextFor({ json: flags.json, url: flags.url }, env);
  const interactive = flags.nonInteractive !== true && process.stdin.isTTY === true;
  const given = new GivenAnswers();
  given.add('the command line', flagAnswers(flags));
  if (flags.answers !== undefined) given.add(flags.answers, readAnswersFile(flags.answers));
  const prompter = new Prompter({ interactive, given, out });
  const progress = new Progress();
  const wizard = new SetupWizard(flags, env, client, settings.url, out, prompter, progress, given);
  try {
    await wizard.run();
  } finally {
    progress.stop();
    prompter.close();
    wizard.destroy();
  }
}

class SetupWizard {
  private session: AwsSession | null = null;
  private get aws(): AwsSession {
    if (!this.session) throw new Error('no AWS session yet');
    return this.session;
  }
  private identity!: CallerIdentity;
  private names!: StackNames;
  /** Defaults for the questions, from a finished earlier setup or from the stacks that exist. */
  private readonly defaults: Partial<Record<AnswerKey, string>> = {};
  private clusters: ClusterInfo[] = [];
  private stacks: { network: ExistingStack | null; cluster: ExistingStack | null; controlRole: ExistingStack | null } = {
    network: null,
    cluster: null,
    controlRole: null,
  };

  constructor(
    private readonly flags: SetupFlags,
    private readonly env: NodeJS.ProcessEnv,
    private readonly client: ApiClient,
    private readonly berthUrl: string,
    private readonly out: Output,
    private readonly prompter: Prompter,
    private readonly progress: Progress,
    private readonly given: GivenAnswers,
  ) {}

  private tell(text = ''): void {
    this.progress.clear();
    this.prompter.tell(text);
  }

  private warn(text: string): void {
    this.tell(this.out.paintErr('yellow', `warning: ${text}`));
  }

  private def(key: AnswerKey, fallback: string | undefined): string | undefined {
    return this.defaults[key] ?? fallback;
  }

  private hasDefault(key: AnswerKey): boolean {
    return this.defaults[key] !== undefined;
  }

  /** Closes the AWS clients (idempotent). */
  destroy(): void {
    this.session?.destroy();
    this.session = null;
  }

  async run(): Promise<void> {
    const flags = this.flags;
    if (this.prompter.interactive) {
      this.tell(this.out.paintErr('bold', 'Berth setup for AWS'));
      this.tell('This creates what Berth needs to run Tasks on ECS Fargate in your account (network, cluster, roles),');
      this.tell('reusing what you already have where you choose to, and registers a Run Environment in Berth.');
      this.tell('Nothing is created before you confirm the plan. Defaults are in [brackets]; Enter accepts them.');
      this.tell();
    }
    // Berth first: no point in creating AWS resources for a server that cannot be reached.
    await this.client.get('/api/v1/run_environments', { limit: 1 });

    // 1. The name: it names the stacks and the state file, so it comes before everything else.
    const { name, existing: existingAtStart } = await this.prompter.ask({
      key: 'run_environment',
      label: 'Run Environment name',
      flag: '--run-env',
      intro: ['The Run Environment is what Tasks name to run on ECS. Its name also names the stacks (berth-<name>-network, …).'],
      default: 'aws',
      defaultIsGuess: true,
      parse: async (text) => {
        const parsed = Name.safeParse(text);
        if (!parsed.success) throw new InvalidAnswer(`"${text}" ${parsed.error.issues[0]?.message ?? 'is not a valid name'}`);
        const found = await fetchRunEnvironment(this.client, text);
        if (found && found.kind !== 'aws-ecs') throw new InvalidAnswer(`Berth already has a ${found.kind} Run Environment named "${text}"; choose another name`);
        return { name: text, existing: found as EcsRunEnvironment | null };
      },
      text: (v) => v.name,
    });
    this.names = stackNames(name);

    // The saved state of an earlier run of this setup.
    const stateFile = path.resolve(flags.state ?? defaultStatePath(name, this.env));
    const saved = readState(stateFile);
    if (saved && saved.run_environment !== name) {
      throw new UsageError(`${stateFile} holds the setup of "${saved.run_environment}", not "${name}"; give another --state`);
    }
    let resumed = false;
    if (saved) {
      const done = SETUP_STEPS.filter((s) => saved.steps[s]);
      if (!saved.finished) {
        const resume = await this.prompter.confirm(
          `An unfinished setup of "${name}" was saved at ${saved.saved_at} (done: ${done.join(', ') || 'nothing yet'}). Continue it with the same answers?`,
          { default: true, nonInteractive: true, hint: '' },
        );
        if (resume) {
          this.given.add(`the saved state ${stateFile}`, savedAnswers(saved));
          resumed = true;
          this.tell(`Continuing the setup saved in ${stateFile}.`);
        } else {
          Object.assign(this.defaults, savedAnswers(saved));
        }
      } else if (this.prompter.interactive) {
        Object.assign(this.defaults, savedAnswers(saved));
        this.tell(`The answers of the earlier setup (${stateFile}) are the defaults.`);
      } else {
        this.given.add(`the saved state ${stateFile}`, savedAnswers(saved));
      }
    }

    // 2. Region and credentials.
    const envRegion = this.env.AWS_REGION || this.env.AWS_DEFAULT_REGION;
    const region = await this.prompter.ask({
      key: 'region',
      label: 'AWS region',
      flag: '--region',
      default: this.def('region', envRegion ?? 'us-east-1'),
      defaultIsGuess: !this.hasDefault('region') && !envRegion,
      parse: (text) => {
        if (!REGION_PATTERN.test(text)) throw new InvalidAnswer(`"${text}" is not an AWS region code; regions look like us-east-1 or eu-west-2`);
        return text;
      },
    });
    const endpointUrl = await this.prompter.ask({
      key: 'endpoint_url',
      label: 'AWS endpoint URL (empty: AWS itself)',
      quiet: true,
      default: this.def('endpoint_url', ''),
      parse: (text) => {
        if (text === '') return null;
        try {
          const url = new URL(text);
          if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
        } catch {
          throw new InvalidAnswer(`"${text}" is not an http:// or https:// URL`);
        }
        return text.replace(/\/+$/, '');
      },
    });
    for (;;) {
      const profile = await this.prompter.ask({
        key: 'profile',
        label: 'AWS profile (Enter: the default credential chain)',
        flag: '--profile',
        default: this.def('profile', ''),
        parse: (text) => {
          if (text === '') return null;
          if (!/^[\w.+@-]{1,128}$/.test(text)) throw new InvalidAnswer(`"${text}" is not a profile name (letters, digits, "_", ".", "-", "+", "@")`);
          return text;
        },
      });
      this.session = new AwsSession({ region, profile, endpointUrl });
      try {
        this.identity = await this.session.identity();
        break;
      } catch (error) {
        this.destroy();
        if (!this.prompter.interactive || !(error instanceof CliError)) throw error;
        this.warn(error.message);
        this.given.drop('profile');
        delete this.defaults.profile;
      }
    }
    this.tell(`AWS account ${this.identity.account}, region ${region}, signed in as ${this.identity.arn}.`);
    if (endpointUrl) this.tell(this.out.paintErr('yellow', `AWS calls go to ${endpointUrl}, not to AWS (the Run Environment gets endpoint_url too).`));

    // What exists already.
    const [clusters, vpcs, zones, networkStackNow, clusterStackNow, controlStackNow] = await Promise.all([
      listClusters(this.aws),
      listVpcs(this.aws),
      listAvailabilityZones(this.aws),
      describeStack(this.aws, this.names.network),
      describeStack(this.aws, this.names.cluster),
      describeStack(this.aws, this.names.controlRole),
    ]);
    this.clusters = clusters;
    this.stacks = { network: networkStackNow, cluster: clusterStackNow, controlRole: controlStackNow };
    this.defaultsFromStacks();

    // 3. Cluster, 4. network, 5. roles and the rest.
    const cluster = await this.askCluster(name);
    const { network, assignPublicIp } = await this.askNetwork(vpcs, zones);
    const answers = await this.askRoles({ name, region, endpointUrl, cluster, network, assignPublicIp, existing: existingAtStart });

    await this.execute(answers, stateFile, saved, resumed);
  }

  /** Defaults from the stacks an earlier setup left (answers the stacks were made with). */
  private defaultsFromStacks(): void {
    const set = (key: AnswerKey, value: string | undefined) => {
      if (value !== undefined && this.defaults[key] === undefined) this.defaults[key] = value;
    };
    const c = this.stacks.cluster?.parameters;
    if (c) {
      set('cluster', c.CreateCluster === 'false' ? 'existing' : 'create');
      set('cluster_name', c.ClusterName);
      set('log_group', c.LogGroupName);
      set('log_retention_days', c.LogRetentionDays);
      set('secret_name_prefix', c.SecretNamePrefix);
      set('container_insights', c.ContainerInsights);
    }
    const n = this.stacks.network?.parameters;
    if (n) {
      set('network', 'create');
      set('availability_zones', [n.AvailabilityZone1, n.AvailabilityZone2, n.AvailabilityZone3].filter((z) => z).join(','));
      set('nat_gateways', n.NatGateways);
      set('s3_endpoint', n.EnableS3GatewayEndpoint);
      set('interface_endpoints', n.EnableInterfaceEndpoints);
    }
    const r = this.stacks.controlRole?.parameters;
    if (r) {
      set('trusted_principal', r.TrustedPrincipal);
      set('task_definition_prefix', r.TaskDefinitionPrefix);
      set('services', r.EnableServices);
      set('eventbridge_schedules', r.EnableEventBridgeSchedules);
    }
  }

  /** The cluster the stack created, if it created one (changing it would delete that cluster). */
  private stackCreatedCluster(): string | null {
    const p = this.stacks.cluster?.parameters;
    return p && p.CreateCluster !== 'false' && p.ClusterName ? p.ClusterName : null;
  }

  private guardCluster(mode: 'create' | 'existing', clusterName: string): { mode: 'create' | 'existing'; name: string } {
    const ours = this.stackCreatedCluster();
    if (ours === null) return { mode, name: clusterName };
    if (clusterName === ours) return { mode: 'create', name: ours }; // picking it from the list keeps it in its stack
    throw new InvalidAnswer(
      `the stack ${this.names.cluster} created the cluster ${ours}; using another cluster would make CloudFormation delete ${ours} ` +
        `and stop what runs in it. Keep ${ours}, or delete the stack ${this.names.cluster} yourself first`,
    );
  }

  private async askCluster(name: string): Promise<{ mode: 'create' | 'existing'; name: string }> {
    const clusters = this.clusters;
    const menu = numbered([`create a new cluster (stack ${this.names.cluster})`, ...clusters.map((c) => describeCluster(c, this.names))]);
    const choice = await this.prompter.ask<{ mode: 'create' | 'existing'; name?: string }>({
      key: 'cluster',
      label: 'ECS cluster',
      intro: ['', 'ECS cluster for the tasks (create a new one, or pick one of yours):', ...menu],
      default: this.def('cluster', 'create'),
      parse: (text, typed) => {
        const t = text.trim();
        if (t === 'create' || (typed && t === '1')) return { mode: 'create' };
        if (t === 'existing') {
          if (clusters.length === 0) throw new InvalidAnswer('there is no cluster in this region yet; answer create');
          return { mode: 'existing' };
        }
        if (typed && /^\d+$/.test(t)) {
          const n = Number(t);
          const picked = clusters[n - 2];
          if (!picked) throw new InvalidAnswer(`there is no choice ${n}: answer a number from 1 to ${clusters.length + 1}`);
          return this.guardCluster('existing', picked.name);
        }
        const named = clusters.find((c) => c.name === t);
        if (named) return this.guardCluster('existing', named.name);
        throw new InvalidAnswer(`"${t}" is not a choice: answer create, existing, a number from the list or a cluster's name`);
      },
      text: (v) => v.mode,
    });
    if (choice.name !== undefined) {
      // Picked from the menu: that is the cluster_name answer too.
      this.prompter.answers.cluster_name = choice.name;
      if (choice.mode === 'create') this.tell(`The cluster ${choice.name} stays in the stack ${this.names.cluster}.`);
      return { mode: choice.mode, name: choice.name };
    }
    if (choice.mode === 'create') {
      const clusterName = await this.prompter.ask({
        key: 'cluster_name',
        label: 'Name of the new cluster',
        default: this.def('cluster_name', defaultClusterName(name)),
        parse: (text) => {
          if (!CLUSTER_NAME_PATTERN.test(text)) throw new InvalidAnswer(`"${text}" is not a cluster name: 1-255 letters, digits, "-" or "_"`);
          const ours = this.stackCreatedCluster();
          if (ours !== null && text !== ours) this.guardCluster('create', text);
          if (text !== ours && clusters.some((c) => c.name === text)) {
            throw new InvalidAnswer(`a cluster named ${text} exists already; choose another name (or answer existing to the cluster question to use it)`);
          }
          return text;
        },
      });
      return { mode: 'create', name: clusterName };
    }
    const picked = await this.prompter.ask({
      key: 'cluster_name',
      label: 'Which cluster (number or name)',
      intro: numbered(clusters.map((c) => describeCluster(c, this.names))),
      default: this.def('cluster_name', undefined),
      parse: (text, typed) => {
        const [one, ...more] = pickFromMenu(text, clusters.map((c) => c.name), typed, 'cluster name');
        if (!one || more.length > 0) throw new InvalidAnswer('choose exactly one cluster');
        return this.guardCluster('existing', one);
      },
      text: (v) => v.name,
    });
    return picked;
  }

  private async askNetwork(vpcs: VpcInfo[], zones: string[]): Promise<{ network: NetworkChoice; assignPublicIp: boolean }> {
    const ourVpc = this.stacks.network?.outputs.VpcId ?? null;
    const menu = numbered([`create a new VPC (stack ${this.names.network})`, ...vpcs.map((v) => describeVpc(v, this.names))]);
    const pickVpc = (id: string): { mode: 'create' | 'existing'; vpc?: string } => (id === ourVpc ? { mode: 'create' } : { mode: 'existing', vpc: id });
    const choice = await this.prompter.ask<{ mode: 'create' | 'existing'; vpc?: string }>({
      key: 'network',
      label: 'Network',
      intro: ['', 'Network for the tasks (a new VPC with public and private subnets, or one of yours):', ...menu],
      default: this.def('network', 'create'),
      defaultIsGuess: !this.hasDefault('network'),
      parse: (text, typed) => {
        const t = text.trim();
        if (t === 'create' || (typed && t === '1')) return { mode: 'create' };
        if (t === 'existing') return { mode: 'existing' };
        if (typed && /^\d+$/.test(t)) {
          const picked = vpcs[Number(t) - 2];
          if (!picked) throw new InvalidAnswer(`there is no choice ${t}: answer a number from 1 to ${vpcs.length + 1}`);
          return pickVpc(picked.id);
        }
        if (vpcs.some((v) => v.id === t)) return pickVpc(t);
        throw new InvalidAnswer(`"${t}" is not a choice: answer create, existing, a number from the list or a VPC id`);
      },
      text: (v) => v.mode,
    });
    if (choice.mode === 'create') return this.askNewNetwork(zones);
    return this.askExistingNetwork(vpcs, choice.vpc);
  }

  private async askNewNetwork(zones: string[]): Promise<{ network: NetworkChoice; assignPublicIp: boolean }> {
    const zoneList = await this.prompter.ask({
      key: 'availability_zones',
      label: 'Availability zones (2 or 3; numbers or names, comma-separated)',
      intro: ['', `Availability zones of ${this.aws.options.region} (one public and one private subnet in each):`, ...numbered(zones)],
      default: this.def('availability_zones', zones.slice(0, 2).join(',')),
      defaultIsGuess: !this.hasDefault('availability_zones'),
      parse: (text, typed) => {
        const picked = pickFromMenu(text, zones, typed, 'zone name');
        if (picked.length < 2 || picked.length > 3) throw new InvalidAnswer(`choose 2 or 3 different zones (you chose ${picked.length})`);
        return picked;
      },
      text: (v) => v.join(','),
    });
    const nat = await this.prompter.ask<NatMode>({
      key: 'nat_gateways',
      label: 'NAT gateways: None, Single or PerZone',
      intro: [
        '',
        'Tasks in the private subnets reach ECR and CloudWatch Logs through NAT or VPC endpoints.',
        '  Single: one NAT gateway for all zones (cheaper)   PerZone: one per zone   None: endpoints only',
      ],
      default: this.def('nat_gateways', 'Single'),
      parse: (text) => {
        const match = (['None', 'Single', 'PerZone'] as const).find((m) => m.toLowerCase() === text.trim().toLowerCase());
        if (!match) throw new InvalidAnswer(`"${text}" is not None, Single or PerZone`);
        return match;
      },
      text: (v) => v,
    });
    const interfaceEndpoints = await this.prompter.ask({
      key: 'interface_endpoints',
      label: 'Interface endpoints for ECR, Logs and Secrets Manager (billed per zone and hour)? yes/no',
      default: this.def('interface_endpoints', nat === 'None' ? 'yes' : 'no'),
      parse: (text) => parseBoolean(text),
      text: String,
    });
    const s3Endpoint = await this.prompter.ask({
      key: 's3_endpoint',
      label: 'S3 gateway endpoint? yes/no',
      quiet: true,
      default: this.def('s3_endpoint', 'true'),
      parse: (text) => parseBoolean(text),
      text: String,
    });
    if (nat === 'None' && !interfaceEndpoints) {
      this.warn('with no NAT gateway and no interface endpoints, tasks in the private subnets cannot pull images or write logs');
    }
    const assignPublicIp = await this.prompter.ask({
      key: 'assign_public_ip',
      label: 'Give tasks a public IP? yes/no',
      quiet: true,
      default: this.def('assign_public_ip', 'false'),
      parse: (text) => parseBoolean(text),
      text: String,
    });
    return { network: { mode: 'create', zones: zoneList, nat, s3Endpoint, interfaceEndpoints }, assignPublicIp };
  }

  private async askExistingNetwork(vpcs: VpcInfo[], picked: string | undefined): Promise<{ network: NetworkChoice; assignPublicIp: boolean }> {
    const candidates = vpcs.filter((v) => v.id !== this.stacks.network?.outputs.VpcId);
    let vpc: string;
    if (picked !== undefined) {
      vpc = picked;
      this.prompter.answers.vpc = picked;
    } else {
      vpc = await this.prompter.ask({
        key: 'vpc',
        label: 'Which VPC (number or id)',
        intro: numbered(candidates.map((v) => describeVpc(v, this.names))),
        default: this.def('vpc', undefined),
        parse: (text, typed) => {
          const [one, ...more] = pickFromMenu(text, candidates.map((v) => v.id), typed, 'VPC id');
          if (!one || more.length > 0) throw new InvalidAnswer('choose exactly one VPC');
          return one;
        },
      });
    }
    const [subnets, groups, dns] = await Promise.all([listSubnets(this.aws, vpc), listSecurityGroups(this.aws, vpc), vpcDns(this.aws, vpc)]);
    if (subnets.length === 0) throw new CliError(`the VPC ${vpc} has no subnets; add some, pick another VPC, or let the wizard create a network`);
    if (groups.length === 0) throw new CliError(`the VPC ${vpc} has no security groups`);
    if (!dns.support || !dns.hostnames) {
      this.warn(`the VPC ${vpc} has DNS ${!dns.support ? 'support' : 'hostnames'} off; Fargate tasks that use VPC endpoints need both on`);
    }
    const privateOnes = subnets.filter((s) => !s.public).map((s) => s.id);
    const chosenSubnets = await this.prompter.ask({
      key: 'subnets',
      label: 'Subnets for the tasks (numbers or ids, comma-separated)',
      intro: ['', `Subnets of ${vpc} (each task gets a network interface in one of them):`, ...numbered(subnets.map(describeSubnet))],
      default: this.def('subnets', (privateOnes.length > 0 ? privateOnes : subnets.map((s) => s.id)).join(',')),
      defaultIsGuess: !this.hasDefault('subnets'),
      parse: (text, typed) => {
        const ids = pickFromMenu(text, subnets.map((s) => s.id), typed, 'subnet id');
        if (ids.length === 0) throw new InvalidAnswer('choose at least one subnet');
        if (ids.length > 16) throw new InvalidAnswer('choose at most 16 subnets');
        return ids;
      },
      text: (v) => v.join(','),
    });
    const defaultGroup = groups.find((g) => g.name === 'default');
    const chosenGroups = await this.prompter.ask({
      key: 'security_groups',
      label: 'Security groups for the tasks (1 to 5; numbers or ids)',
      intro: [
        '',
        `Security groups of ${vpc} (tasks need outbound HTTPS to pull images; they need no inbound rules to run):`,
        ...numbered(groups.map((g) => `${g.id}  ${g.name.padEnd(20)}  ${g.inboundRules} inbound rule${g.inboundRules === 1 ? '' : 's'}  ${g.description}`)),
      ],
      default: this.def('security_groups', defaultGroup?.id),
      defaultIsGuess: !this.hasDefault('security_groups'),
      parse: (text, typed) => {
        const ids = pickFromMenu(text, groups.map((g) => g.id), typed, 'security group id');
        if (ids.length === 0) throw new InvalidAnswer('choose at least one security group');
        if (ids.length > 5) throw new InvalidAnswer('ECS allows at most 5 security groups per task');
        return ids;
      },
      text: (v) => v.join(','),
    });
    const allPublic = chosenSubnets.every((id) => subnets.find((s) => s.id === id)?.public === true);
    const assignPublicIp = await this.prompter.ask({
      key: 'assign_public_ip',
      label: 'Give tasks a public IP (needed in public subnets without NAT)? yes/no',
      default: this.def('assign_public_ip', allPublic ? 'yes' : 'no'),
      parse: (text) => parseBoolean(text),
      text: String,
    });
    return { network: { mode: 'existing', vpc, subnets: chosenSubnets, securityGroups: chosenGroups }, assignPublicIp };
  }

  private async askRoles(so: {
    name: string;
    region: string;
    endpointUrl: string | null;
    cluster: { mode: 'create' | 'existing'; name: string };
    network: NetworkChoice;
    assignPublicIp: boolean;
    existing: EcsRunEnvironment | null;
  }): Promise<SetupAnswers & { existing: EcsRunEnvironment | null }> {
    const account = this.identity.account;
    const assumedRole = /^arn:aws[a-z-]*:sts::(\d{12}):assumed-role\/([^/]+)\//.exec(this.identity.arn);
    const trustedPrincipal = await this.prompter.ask({
      key: 'trusted_principal',
      label: 'Who may assume the control role (account id or role ARN)',
      intro: [
        '',
        `Berth assumes the control role ${controlRoleName(so.name)} for every AWS call, presenting an External ID that the wizard`,
        'generates and keeps in Berth. Trust the account (any of its principals allowed sts:AssumeRole) or, narrower, the',
        'role berth server runs as.',
        ...(assumedRole ? [`  You are signed in through the role arn:${this.identity.partition}:iam::${assumedRole[1]}:role/${assumedRole[2]}.`] : []),
      ],
      default: this.def('trusted_principal', account),
      parse: (text) => {
        if (text === '*' || !PRINCIPAL_PATTERN.test(text)) {
          throw new InvalidAnswer(`"${text}" is not a 12-digit account id or an IAM role/user ARN (arn:aws:iam::123456789012:role/berth-server); "*" is never allowed`);
        }
        return text;
      },
    });
    const logGroup = await this.prompter.ask({
      key: 'log_group',
      label: 'Log group of the tasks',
      quiet: true,
      default: this.def('log_group', `/berth/${so.name}`),
      parse: async (text) => {
        if (!LOG_GROUP_PATTERN.test(text)) throw new InvalidAnswer(`"${text}" is not a log group name (letters, digits and . - _ / #)`);
        const stackHasIt = this.stacks.cluster?.parameters.LogGroupName === text;
        if (!stackHasIt && (await logGroupExists(this.aws, text))) {
          throw new InvalidAnswer(
            `the log group ${text} exists already (Berth creates a Run Environment's group on its first run), and the cluster stack creates its own; choose another name, or delete the group`,
          );
        }
        return text;
      },
    });
    const logRetentionDays = await this.prompter.ask({
      key: 'log_retention_days',
      label: 'Days CloudWatch keeps task output',
      quiet: true,
      default: this.def('log_retention_days', '30'),
      parse: (text) => {
        const n = Number(text);
        if (!LOG_RETENTION_DAYS.includes(n)) throw new InvalidAnswer(`${text} is not a retention CloudWatch offers: ${LOG_RETENTION_DAYS.join(', ')}`);
        return n;
      },
      text: String,
    });
    const secretNamePrefix = await this.prompter.ask({
      key: 'secret_name_prefix',
      label: 'Prefix of the secrets tasks may read',
      quiet: true,
      default: this.def('secret_name_prefix', `berth/${so.name}/`),
      parse: (text) => {
        if (!SECRET_PREFIX_PATTERN.test(text)) throw new InvalidAnswer(`"${text}" must be a name prefix without a leading "/", e.g. berth/prod/`);
        return text;
      },
    });
    const containerInsights = await this.prompter.ask({
      key: 'container_insights',
      label: 'Container Insights: disabled, enabled or enhanced',
      quiet: true,
      default: this.def('container_insights', 'disabled'),
      parse: (text) => {
        if (!['disabled', 'enabled', 'enhanced'].includes(text)) throw new InvalidAnswer(`"${text}" is not disabled, enabled or enhanced`);
        return text;
      },
    });
    const taskDefinitionPrefix = await this.prompter.ask({
      key: 'task_definition_prefix',
      label: 'Task definition family prefix',
      quiet: true,
      default: this.def('task_definition_prefix', so.existing?.task_definition_prefix ?? 'berth-'),
      parse: (text) => {
        if (!TASK_DEFINITION_PREFIX_PATTERN.test(text)) throw new InvalidAnswer(`"${text}" must be 1-64 letters, digits, "-" or "_"`);
        return text;
      },
    });
    const services = await this.prompter.ask({
      key: 'services',
      label: 'Allow ECS services? yes/no',
      quiet: true,
      default: this.def('services', 'false'),
      parse: parseBoolean,
      text: String,
    });
    const eventBridgeSchedules = await this.prompter.ask({
      key: 'eventbridge_schedules',
      label: 'Allow EventBridge schedules? yes/no',
      quiet: true,
      default: this.def('eventbridge_schedules', 'false'),
      parse: parseBoolean,
      text: String,
    });
    return {
      runEnvironment: so.name,
      region: so.region,
      endpointUrl: so.endpointUrl,
      cluster: so.cluster,
      network: so.network,
      assignPublicIp: so.assignPublicIp,
      trustedPrincipal,
      logGroup,
      logRetentionDays,
      secretNamePrefix,
      containerInsights,
      taskDefinitionPrefix,
      services,
      eventBridgeSchedules,
      existing: so.existing,
    };
  }

  // ------------------------------------------------------------------------------------------
  // Plan and execution.
  // ------------------------------------------------------------------------------------------

  private async execute(
    a: SetupAnswers & { existing: EcsRunEnvironment | null },
    stateFile: string,
    saved: SetupState | null,
    resumed: boolean,
  ): Promise<void> {
    const { out, flags } = this;
    const aws = this.aws;
    const names = this.names;
    const roleArn = controlRoleArn(this.identity.partition, this.identity.account, a.runEnvironment);

    // The External ID: the Run Environment's (kept in Berth's store), else a new one.
    const existingEnv = await fetchRunEnvironment(this.client, a.runEnvironment);
    if (existingEnv && existingEnv.kind !== 'aws-ecs') throw new CliError(`Run Environment "${a.runEnvironment}" is ${existingEnv.kind} now; choose another name`);
    const storedExternalId = existingEnv?.kind === 'aws-ecs' ? (existingEnv.external_id ?? null) : null;

    // The plan.
    const networkSpec = a.network.mode === 'create' ? networkStack(a as SetupAnswers & { network: { mode: 'create' } }, names) : null;
    const clusterSpec = clusterStack(a, names);
    const networkPlan = networkSpec ? await planStack(aws, networkSpec) : null;
    const clusterPlan = await planStack(aws, clusterSpec);
    const clusterKnown = clusterPlan.action === 'unchanged' ? (clusterPlan.existing!.outputs as unknown as ClusterOutputs) : null;
    const networkKnown = a.network.mode === 'existing' || networkPlan?.action === 'unchanged';
    const controlExisting = this.stacks.controlRole;
    let controlPlan: StackPlan | null = null;
    let envPlan: ReturnType<typeof mergeRunEnvironment> | null = null;
    if (clusterKnown && storedExternalId !== null) {
      controlPlan = await planStack(aws, controlRoleStack(a, names, clusterKnown, storedExternalId, false));
      if (networkKnown) {
        const fields = runEnvironmentFields(a, networkFields(a.network, networkPlan?.existing?.outputs ?? null), clusterKnown, roleArn, storedExternalId);
        envPlan = mergeRunEnvironment(existingEnv, fields);
      }
    }
    const nothingToDo =
      (networkPlan === null || networkPlan.action === 'unchanged') &&
      clusterPlan.action === 'unchanged' &&
      controlPlan?.action === 'unchanged' &&
      envPlan?.action === 'unchanged';

    const report: SetupReport = {
      run_environment: a.runEnvironment,
      account: this.identity.account,
      region: a.region,
      dry_run: flags.dryRun === true,
      nothing_to_do: nothingToDo,
      state_file: flags.dryRun ? null : stateFile,
      steps: {},
    };

    this.printPlan(a, {
      networkPlan,
      clusterPlan,
      controlPlan,
      controlExisting,
      envAction: envPlan?.action ?? (existingEnv ? 'update' : 'create'),
      envChanged: envPlan?.changed ?? [],
      roleArn,
      storedExternalId,
      clusterKnown,
    });

    if (flags.dryRun) {
      this.tell();
      this.tell(nothingToDo ? 'Dry run: nothing to do; everything is already as planned.' : 'Dry run: nothing was created or changed.');
      if (out.json) out.printJson({ ...report, plan: this.planJson(a, networkPlan, clusterPlan, controlPlan, existingEnv) });
      return;
    }

    if (!nothingToDo) {
      const go =
        flags.yes === true ||
        (await this.prompter.confirm('Create and update these now?', {
          default: true,
          hint: 'this would create or change resources: add --yes to go ahead without a question (or --dry-run to see the plan only)',
        }));
      if (!go) {
        this.tell('Nothing was created or changed.');
        throw new ExitRequest(1);
      }
    }

    // No more questions: give the terminal back (Ctrl-C is a signal again, not a keypress).
    this.prompter.close();

    // From here on, the state file records each step. It never holds a secret.
    const secrets = [...(await aws.secretValues()), ...(this.env.BERTH_API_KEY ? [this.env.BERTH_API_KEY] : [])];
    const state: SetupState = {
      version: 1,
      run_environment: a.runEnvironment,
      saved_at: now(),
      finished: false,
      account: this.identity.account,
      region: a.region,
      berth_url: this.berthUrl,
      answers: { ...this.prompter.answers },
      steps: resumed && saved ? { ...saved.steps } : {},
    };
    const save = (extraSecrets: string[] = []) => {
      state.saved_at = now();
      writeState(stateFile, state, [...secrets, ...extraSecrets]);
    };
    save();

    const onInterrupt = () => {
      this.progress.stop();
      process.stderr.write(
        `\nInterrupted. Whatever CloudFormation was doing goes on in AWS. Run the same command again to continue: it waits for unfinished stacks and does only what is missing (state: ${stateFile}).\n`,
      );
      process.exit(130);
    };
    process.once('SIGINT', onInterrupt);
    try {
      const hooks = {
        onEvent: (line: string) => {
          this.progress.clear();
          out.note(out.paintErr('dim', line));
        },
        onStatus: (text: string) => this.progress.update(text),
        pollMs: aws.options.endpointUrl ? 500 : 3000,
      };
      const step = (name: SetupStep, record: Omit<StepRecord, 'at'>, detail?: string) => {
        state.steps[name] = { ...record, at: now() };
        report.steps[name] = { ...record, at: state.steps[name].at, ...(detail ? { detail } : {}) };
      };
      const announce = (text: string) => {
        this.progress.clear();
        out.note(out.paintErr('bold', text));
      };

      // 1. Network.
      let networkOutputs: Record<string, string> | null = null;
      if (networkSpec) {
        announce(`Network: stack ${networkSpec.name}`);
        const deployed = await deployStack(aws, networkSpec, hooks);
        networkOutputs = deployed.outputs;
        step('network', { result: deployed.result, stack: networkSpec.name, outputs: deployed.outputs });
      } else if (a.network.mode === 'existing') {
        step('network', { result: 'existing', outputs: { VpcId: a.network.vpc, SubnetIds: a.network.subnets.join(','), SecurityGroupIds: a.network.securityGroups.join(',') } });
      }
      save();

      // 2. Cluster, roles, log group.
      announce(`Cluster, task roles and log group: stack ${clusterSpec.name}`);
      const clusterDeployed = await deployStack(aws, clusterSpec, hooks);
      const clusterOutputs = clusterDeployed.outputs as unknown as ClusterOutputs;
      step('cluster', { result: clusterDeployed.result, stack: clusterSpec.name, outputs: clusterDeployed.outputs });
      save();

      // 3. The Run Environment, with the control role's ARN and the External ID, before the role
      //    exists: once it is registered, the External ID can always be read back from Berth.
      announce(`Run Environment "${a.runEnvironment}" in Berth (${this.berthUrl})`);
      const current = await fetchRunEnvironment(this.client, a.runEnvironment);
      if (current && current.kind !== 'aws-ecs') throw new CliError(`Run Environment "${a.runEnvironment}" is ${current.kind} now; choose another name`);
      const currentExternalId = current?.kind === 'aws-ecs' ? (current.external_id ?? null) : null;
      const externalId = currentExternalId ?? `berth-${randomBytes(20).toString('hex')}`;
      const newExternalId = currentExternalId === null;
      const fields = runEnvironmentFields(a, networkFields(a.network, networkOutputs), clusterOutputs, roleArn, externalId);
      const merged = mergeRunEnvironment(current, fields);
      if (merged.action !== 'unchanged') await this.client.post('/api/v1/run_environments', merged.body);
      const envResult = merged.action === 'create' ? 'created' : merged.action === 'update' ? 'updated' : 'unchanged';
      step('run_environment', { result: envResult }, merged.changed.length ? `changed: ${merged.changed.join(', ')}` : undefined);
      if (envResult !== 'unchanged') out.note(out.paintErr('dim', `  ${envResult}${merged.changed.length ? ` (${merged.changed.join(', ')})` : ''}`));
      save([externalId]);

      // 4. The control role, trusting the principal with that External ID.
      const controlSpec = controlRoleStack(a, names, clusterOutputs, externalId, newExternalId);
      announce(`Control role: stack ${controlSpec.name}`);
      const controlDeployed = await deployStack(aws, controlSpec, hooks);
      if (controlDeployed.outputs.RoleArn && controlDeployed.outputs.RoleArn !== roleArn) {
        throw new CliError(`the control role's ARN is ${controlDeployed.outputs.RoleArn}, not ${roleArn} as registered; run the wizard again`);
      }
      step('control_role', { result: controlDeployed.result, stack: controlSpec.name, outputs: controlDeployed.outputs });
      save([externalId]);

      // 5. Verify, when the server can.
      announce(`Verify: POST /api/v1/run_environments/${a.runEnvironment}/verify`);
      report.verify = await this.verify(a.runEnvironment);
      step('verify', { result: report.verify.result }, report.verify.message);
      const allUnchanged = ['network', 'cluster', 'run_environment', 'control_role'].every((s) => {
        const r = state.steps[s as SetupStep]?.result;
        return r === undefined || r === 'unchanged' || r === 'existing';
      });
      report.nothing_to_do = allUnchanged;
      state.finished = report.verify.result !== 'failed';
      save([externalId]);
    } finally {
      process.removeListener('SIGINT', onInterrupt);
    }

    this.printResult(a, report);
    if (report.verify?.result === 'failed') {
      throw new CliError(
        `the setup is in place, but Berth's verification failed: ${report.verify.message}. Fix what it says and run the wizard again (berth setup aws --run-env ${a.runEnvironment}).`,
      );
    }
  }

  private async verify(name: string): Promise<NonNullable<SetupReport['verify']>> {
    try {
      const response = await this.client.post<unknown>(`/api/v1/run_environments/${seg(name)}/verify`, {});
      const outcome = verifyOutcome(response);
      for (const line of outcome.lines) this.out.note(line);
      return outcome.passed
        ? { result: 'passed', message: 'Berth reached AWS with the control role and found what the Run Environment names', response }
        : { result: 'failed', message: 'some checks failed (above)', response };
    } catch (error) {
      if (error instanceof CliError && error.status === 404 && error.code === 'ROUTE_NOT_FOUND') {
        return { result: 'skipped', message: 'this Berth server has no verify route yet; run berth verify once it has' };
      }
      if (error instanceof CliError) return { result: 'failed', message: error.message };
      throw error;
    }
  }

  // ------------------------------------------------------------------------------------------
  // Output.
  // ------------------------------------------------------------------------------------------

  private printPlan(
    a: SetupAnswers,
    p: {
      networkPlan: StackPlan | null;
      clusterPlan: StackPlan;
      controlPlan: StackPlan | null;
      controlExisting: ExistingStack | null;
      envAction: string;
      envChanged: string[];
      roleArn: string;
      storedExternalId: string | null;
      clusterKnown: ClusterOutputs | null;
    },
  ): void {
    const { out } = this;
    const write = (line = '') => (out.json ? out.note(line) : out.line(line));
    const action = (plan: StackPlan | null, fallback: string) => {
      if (!plan) return fallback;
      if (plan.busy) return `${plan.existing?.status}: wait for it, then update if needed`;
      if (plan.action === 'update') {
        const what = [...plan.changes.map((c) => `${c.key}: ${c.before ?? '(none)'} → ${c.after}`), ...(plan.templateChanged ? ['a newer template'] : [])];
        return `update (${what.join('; ')})`;
      }
      if (plan.action === 'recreate') return `create again (${plan.existing?.status}: the earlier creation failed)`;
      return plan.action;
    };
    const params = (spec: StackSpec) =>
      Object.entries(spec.parameters).map(([k, v]) => `      ${k}: ${spec.noEcho?.includes(k) ? '(hidden)' : v === '' ? '""' : v}`);
    write();
    write(out.paint('bold', `Plan for Run Environment "${a.runEnvironment}" — AWS account ${this.identity.account}, ${a.region}`));
    write();
    const net = a.network;
    if (net.mode === 'create' && p.networkPlan) {
      write(`  Network       stack ${p.networkPlan.spec.name} (network.yaml): ${action(p.networkPlan, 'create')}`);
      write(`                a VPC with public and private subnets in ${net.zones.join(', ')}; NAT ${net.nat}`);
      for (const line of params(p.networkPlan.spec)) write(line);
    } else if (net.mode === 'existing') {
      write(`  Network       existing VPC ${net.vpc}: nothing to create`);
      write(`                subnets ${net.subnets.join(', ')}; security groups ${net.securityGroups.join(', ')}`);
    }
    write(
      `  Cluster       stack ${p.clusterPlan.spec.name} (cluster.yaml): ${action(p.clusterPlan, 'create')}` +
        `${a.cluster.mode === 'existing' ? ` — uses your cluster ${a.cluster.name} (creates no cluster)` : ''}`,
    );
    write('                task execution role, default task role (no permissions), log group');
    for (const line of params(p.clusterPlan.spec)) write(line);
    write(`  Run Env.      "${a.runEnvironment}" in Berth (${this.berthUrl}): ${p.envAction}${p.envChanged.length ? ` (${p.envChanged.join(', ')})` : ''}`);
    write(`      role_arn: ${p.roleArn}`);
    write(`      external_id: ${p.storedExternalId !== null ? "(the Run Environment's current one)" : '(generated when the wizard runs; kept only in Berth)'}`);
    if (a.endpointUrl) write(`      endpoint_url: ${a.endpointUrl}`);
    const controlAction = p.controlPlan ? action(p.controlPlan, 'create') : p.controlExisting ? 'update if needed' : 'create';
    write(`  Control role  stack ${this.names.controlRole} (control-role.yaml): ${controlAction}`);
    write(`                role ${controlRoleName(a.runEnvironment)}, assumed by ${a.trustedPrincipal} with the External ID`);
    const controlSpec = controlRoleStack(
      a,
      this.names,
      p.clusterKnown ?? {
        ClusterName: a.cluster.name,
        ExecutionRoleArn: `(ExecutionRoleArn of ${this.names.cluster})`,
        TaskRoleArn: `(TaskRoleArn of ${this.names.cluster})`,
        LogGroupName: a.logGroup,
      },
      '',
      false,
    );
    for (const line of params(controlSpec)) write(line);
    write(`  Verify        POST /api/v1/run_environments/${a.runEnvironment}/verify (if the server has it)`);
    write();
  }

  private planJson(a: SetupAnswers, networkPlan: StackPlan | null, clusterPlan: StackPlan, controlPlan: StackPlan | null, existingEnv: RunEnvironment | null) {
    const stack = (plan: StackPlan) => ({
      name: plan.spec.name,
      template: plan.spec.template,
      action: plan.action,
      parameters: Object.fromEntries(Object.entries(plan.spec.parameters).map(([k, v]) => [k, plan.spec.noEcho?.includes(k) ? '(hidden)' : v])),
      changes: plan.changes,
    });
    return {
      network: networkPlan ? stack(networkPlan) : { existing: a.network },
      cluster: stack(clusterPlan),
      control_role: controlPlan ? stack(controlPlan) : { name: this.names.controlRole, action: this.stacks.controlRole ? 'update if needed' : 'create' },
      run_environment: { name: a.runEnvironment, action: existingEnv ? 'update if needed' : 'create' },
    };
  }

  private printResult(a: SetupAnswers, report: SetupReport): void {
    const { out } = this;
    if (out.json) return out.printJson(report);
    const rows: [string, string, string][] = [];
    const label: Record<SetupStep, string> = {
      network: 'Network',
      cluster: 'Cluster',
      run_environment: 'Run Env.',
      control_role: 'Control role',
      verify: 'Verify',
    };
    for (const s of SETUP_STEPS) {
      const r = report.steps[s];
      if (!r) continue;
      rows.push([label[s], r.result, r.stack ?? r.detail ?? '']);
    }
    out.line();
    out.table([{ header: 'STEP' }, { header: 'RESULT' }, { header: 'WHERE' }], rows);
    out.line();
    if (report.nothing_to_do) {
      out.line(`Nothing to do: the stacks and the Run Environment "${a.runEnvironment}" were already as planned.`);
    } else {
      out.line(out.paint('green', `Run Environment "${a.runEnvironment}" is set up.`));
    }
    if (report.verify?.result === 'skipped') out.line(out.paint('dim', `Verify skipped: ${report.verify.message}.`));
    out.line();
    out.line('Next:');
    out.line('  1. Add a Task that runs on it to your berth.yaml:');
    out.line('       tasks:');
    out.line('         - name: hello-aws');
    out.line(`           run_environment: ${a.runEnvironment}`);
    out.line('           image: public.ecr.aws/docker/library/busybox:1.36');
    out.line('           command: echo hello from Fargate');
    out.line('           cpu: 256');
    out.line('           memory: 512');
    out.line('  2. berth apply -f berth.yaml');
    out.line('  3. berth run hello-aws --wait');
    out.line(`  The control role's permissions: berth aws iam-policy --run-env ${a.runEnvironment}`);
    if (report.state_file) out.line(out.paint('dim', `  Answers saved in ${report.state_file} (no secrets); run the wizard again to change or repair the setup.`));
  }
}
