/**
 * The CloudFormation templates in infra/cloudformation.
 *
 * Part 1 (always runs) reads the templates as text: YAML with CloudFormation's short-form tags,
 * a reference checker (every Ref / GetAtt / ${} / Condition names something that exists, and a
 * conditional resource is only referenced where its condition holds), the control role's policy
 * against CONTROL_ROLE_ALLOWED_ACTIONS, what moto cannot show (managed policies, capacity
 * providers, DNS attributes, egress rules), tags, and that docs/cloudformation.md documents every
 * parameter, output and capability.
 *
 * Part 2 deploys each template to moto's CloudFormation and checks the resources themselves
 * through EC2, ECS, IAM and CloudWatch Logs calls.
 */
import { CloudFormationClient, CreateStackCommand, DescribeStackResourcesCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, DescribeLogGroupsCommand, ListTagsForResourceCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeNatGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcAttributeCommand,
  DescribeVpcEndpointsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import type { RouteTable, Subnet } from '@aws-sdk/client-ec2';
import { CreateClusterCommand, DescribeClustersCommand, ECSClient, ListClustersCommand } from '@aws-sdk/client-ecs';
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetRoleCommand, GetRolePolicyCommand, IAMClient, ListRolePoliciesCommand, ListRoleTagsCommand, UploadServerCertificateCommand } from '@aws-sdk/client-iam';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { Tags } from 'yaml';
import { CONTROL_ROLE_ALLOWED_ACTIONS, checkControlRolePolicy } from '../../src/domain/control-role-policy.js';
import type { ControlRoleBindings, ControlRoleFeatures, IamStatement } from '../../src/domain/control-role-policy.js';
import { awsTestConfig, motoAvailable, startMoto } from '../support/moto.js';
import type { Moto } from '../support/moto.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TEMPLATE_DIR = path.join(ROOT, 'infra/cloudformation');
const TEMPLATES = ['network.yaml', 'cluster.yaml', 'control-role.yaml', 'service-load-balancer.yaml'] as const;
type TemplateName = (typeof TEMPLATES)[number];
type Cfn = any;

// ---------------------------------------------------------------------------------------------
// Reading templates: the `yaml` package with CloudFormation's short-form tags (!Ref, !Sub, …),
// each turned into its long form ({"Ref": …}, {"Fn::Sub": …}) as CloudFormation does.
// ---------------------------------------------------------------------------------------------

const FUNCTIONS = [
  'And', 'Base64', 'Cidr', 'Contains', 'EachMemberEquals', 'EachMemberIn', 'Equals', 'FindInMap', 'GetAtt', 'GetAZs',
  'If', 'ImportValue', 'Join', 'Not', 'Or', 'RefAll', 'Select', 'Split', 'Sub', 'ValueOf', 'ValueOfAll',
];
const CFN_TAGS: Tags = [
  { tag: '!Ref', resolve: (value: string) => ({ Ref: value }) },
  { tag: '!Condition', resolve: (value: string) => ({ Condition: value }) },
  ...FUNCTIONS.flatMap((name) => {
    const key = `Fn::${name}`;
    return [
      // !GetAtt Res.Attr is short for ["Res", "Attr"].
      { tag: `!${name}`, resolve: (value: string) => ({ [key]: name === 'GetAtt' ? value.split('.') : value }) },
      { tag: `!${name}`, collection: 'seq' as const, resolve: (seq: { toJSON(): unknown }) => ({ [key]: seq.toJSON() }) },
      { tag: `!${name}`, collection: 'map' as const, resolve: (map: { toJSON(): unknown }) => ({ [key]: map.toJSON() }) },
    ];
  }),
];

function parseTemplate(text: string): Cfn {
  return parseYaml(text, { customTags: CFN_TAGS });
}
const templateText = (name: TemplateName) => readFileSync(path.join(TEMPLATE_DIR, name), 'utf8');
const template = (name: TemplateName): Cfn => parseTemplate(templateText(name));

// ---------------------------------------------------------------------------------------------
// Reference checker.
// ---------------------------------------------------------------------------------------------

const PSEUDO_PARAMETERS = new Set([
  'AWS::AccountId', 'AWS::NoValue', 'AWS::NotificationARNs', 'AWS::Partition', 'AWS::Region', 'AWS::StackId', 'AWS::StackName', 'AWS::URLSuffix',
]);

/**
 * Problems CloudFormation would refuse (or that would make a stack fail half-way): references to
 * things that do not exist, undefined or unused conditions and parameters, and references to a
 * conditional resource from a place where its condition is not known to hold.
 */
function templateProblems(t: Cfn): string[] {
  const problems: string[] = [];
  const parameters = new Set(Object.keys(t.Parameters ?? {}));
  const resources: Record<string, Cfn> = t.Resources ?? {};
  const conditions: Record<string, Cfn> = t.Conditions ?? {};
  const usedParameters = new Set<string>();
  const usedConditions = new Set<string>();

  /** Conditions that hold whenever all of `known` hold (through Fn::And, both ways). */
  const closure = (known: Set<string>): Set<string> => {
    const out = new Set(known);
    for (let changed = true; changed; ) {
      changed = false;
      for (const [name, body] of Object.entries(conditions)) {
        const operands: unknown[] | undefined = body?.['Fn::And'];
        if (!operands) continue;
        const names = operands.map((o: any) => o?.Condition).filter((n): n is string => typeof n === 'string');
        if (out.has(name)) {
          for (const n of names) {
            if (out.has(n)) continue;
            out.add(n);
            changed = true;
          }
        } else if (names.length === operands.length && names.every((n) => out.has(n))) {
          out.add(name);
          changed = true;
        }
      }
    }
    return out;
  };
  const useCondition = (name: unknown, where: string) => {
    if (typeof name !== 'string' || !(name in conditions)) problems.push(`${where}: condition ${String(name)} is not defined`);
    else usedConditions.add(name);
  };
  const resource = (name: string, where: string, holds: Set<string>) => {
    if (!(name in resources)) {
      problems.push(`${where}: ${name} is not a resource`);
      return;
    }
    const needs = resources[name].Condition;
    if (needs && !closure(holds).has(needs)) problems.push(`${where}: refers to ${name}, which exists only when ${needs}`);
  };
  const ref = (name: unknown, where: string, holds: Set<string>) => {
    if (typeof name !== 'string') problems.push(`${where}: Ref to a non-string`);
    else if (PSEUDO_PARAMETERS.has(name)) return;
    else if (parameters.has(name)) usedParameters.add(name);
    else if (name in resources) resource(name, where, holds);
    else problems.push(`${where}: ${name} is neither a parameter, a resource nor a pseudo parameter`);
  };
  const walk = (node: unknown, where: string, holds: Set<string>): void => {
    if (Array.isArray(node)) {
      node.forEach((n, i) => walk(n, `${where}[${i}]`, holds));
      return;
    }
    if (!node || typeof node !== 'object') return;
    const entries = Object.entries(node as Record<string, unknown>);
    if (entries.length === 1) {
      const [key, value] = entries[0]!;
      if (key === 'Ref') return ref(value, where, holds);
      if (key === 'Condition' && typeof value === 'string') return useCondition(value, where);
      if (key === 'Fn::GetAtt') {
        const [target] = Array.isArray(value) ? value : String(value).split('.');
        return resource(String(target), where, holds);
      }
      if (key === 'Fn::If') {
        const [condition, whenTrue, whenFalse] = value as unknown[];
        useCondition(condition, where);
        walk(whenTrue, `${where}.If(${String(condition)})`, new Set([...holds, String(condition)]));
        walk(whenFalse, `${where}.If(!${String(condition)})`, holds);
        return;
      }
      if (key === 'Fn::Sub') {
        const [text, variables] = (Array.isArray(value) ? value : [value, {}]) as [string, Record<string, unknown>];
        walk(variables, `${where}.Sub`, holds);
        for (const match of String(text).matchAll(/\$\{([^}]+)\}/g)) {
          const name = match[1]!;
          if (name.startsWith('!') || name in variables) continue;
          if (name.includes('.') && !PSEUDO_PARAMETERS.has(name)) resource(name.split('.')[0]!, `${where}.Sub`, holds);
          else ref(name, `${where}.Sub`, holds);
        }
        return;
      }
    }
    for (const [key, value] of entries) walk(value, `${where}.${key}`, holds);
  };

  for (const [name, parameter] of Object.entries<Cfn>(t.Parameters ?? {})) {
    if (!parameter.Type) problems.push(`Parameters.${name}: no Type`);
    if (!parameter.Description) problems.push(`Parameters.${name}: no Description`);
  }
  for (const [name, body] of Object.entries(conditions)) walk(body, `Conditions.${name}`, new Set());
  for (const [name, rule] of Object.entries<Cfn>(t.Rules ?? {})) walk(rule, `Rules.${name}`, new Set());
  for (const [name, r] of Object.entries(resources)) {
    if (typeof r.Type !== 'string') problems.push(`Resources.${name}: no Type`);
    const holds = new Set<string>();
    if (r.Condition !== undefined) {
      useCondition(r.Condition, `Resources.${name}.Condition`);
      holds.add(r.Condition);
    }
    for (const dependency of [r.DependsOn ?? []].flat()) resource(dependency, `Resources.${name}.DependsOn`, holds);
    walk(r.Properties, `Resources.${name}`, holds);
  }
  for (const [name, output] of Object.entries<Cfn>(t.Outputs ?? {})) {
    const holds = new Set<string>();
    if (output.Condition !== undefined) {
      useCondition(output.Condition, `Outputs.${name}.Condition`);
      holds.add(output.Condition);
    }
    walk(output.Value, `Outputs.${name}`, holds);
    walk(output.Export, `Outputs.${name}.Export`, holds);
  }
  for (const name of parameters) if (!usedParameters.has(name)) problems.push(`Parameters.${name} is never used`);
  for (const name of Object.keys(conditions)) if (!usedConditions.has(name)) problems.push(`Conditions.${name} is never used`);
  return problems;
}

// ---------------------------------------------------------------------------------------------
// The control role's policies, as written in the template, in the allow-list's terms.
// ---------------------------------------------------------------------------------------------

/** The template's ${AWS::…} pseudo parameters under the allow-list's placeholder names. */
function fromTemplate(text: string): string {
  return text.replaceAll('${AWS::Partition}', '${Partition}').replaceAll('${AWS::Region}', '${Region}').replaceAll('${AWS::AccountId}', '${Account}');
}

/** A CloudFormation value as the strings it can become (both branches of an Fn::If). */
function cfnStrings(value: Cfn): string[] {
  if (typeof value === 'string') return [fromTemplate(value)];
  if (Array.isArray(value)) return value.flatMap(cfnStrings);
  if (value && typeof value === 'object') {
    if ('Ref' in value) return [`\${${value.Ref}}`];
    if (typeof value['Fn::Sub'] === 'string') return [fromTemplate(value['Fn::Sub'])];
    if ('Fn::If' in value) return [...cfnStrings(value['Fn::If'][1]), ...cfnStrings(value['Fn::If'][2])];
    if ('Fn::GetAtt' in value) return [`\${${[value['Fn::GetAtt']].flat().join('.')}}`];
  }
  throw new Error(`unexpected value in a policy: ${JSON.stringify(value)}`);
}

function templateStatement(statement: Cfn): IamStatement {
  const out: Cfn = { ...statement, Resource: cfnStrings(statement.Resource) };
  if (statement.Condition) {
    out.Condition = Object.fromEntries(
      Object.entries<Cfn>(statement.Condition).map(([operator, keys]) => [
        operator,
        Object.fromEntries(Object.entries<Cfn>(keys).map(([key, v]) => [key, Array.isArray(v) ? cfnStrings(v) : cfnStrings(v)[0]])),
      ]),
    );
  }
  return out;
}

/** Placeholder values for the template: its parameters, and the log group prefix as a pattern. */
const TEMPLATE_BINDINGS: ControlRoleBindings = {
  Partition: '${Partition}',
  Region: '${Region}',
  Account: '${Account}',
  ClusterName: '${ClusterName}',
  TaskDefinitionPrefix: '${TaskDefinitionPrefix}',
  LogGroup: '${LogGroupPrefix}*',
  ExecutionRoleArn: '${ExecutionRoleArn}',
  TaskRoleArn: '${TaskRoleArn}',
  ScheduleRulePrefix: '${ScheduleRulePrefix}',
  SecretNamePrefix: '${SecretNamePrefix}',
  EventBridgeRoleArn: '${EventBridgeRoleArn}',
  ServiceStackRoleArn: '${ServiceStackRole.Arn}',
};
const FEATURE_CONDITIONS: Record<string, { feature: keyof ControlRoleFeatures; parameter: string }> = {
  ServicesEnabled: { feature: 'services', parameter: 'EnableServices' },
  SchedulesEnabled: { feature: 'eventBridgeSchedules', parameter: 'EnableEventBridgeSchedules' },
};

/** Every policy that grants to the control role, with the features its Condition switches on. */
function controlRolePolicies(t: Cfn): Array<{ name: string; features: ControlRoleFeatures; statements: IamStatement[] }> {
  const out = (t.Resources.ControlRole.Properties.Policies as Cfn[]).map((p) => ({
    name: String(p.PolicyName),
    features: {},
    statements: (p.PolicyDocument.Statement as Cfn[]).map(templateStatement),
  }));
  for (const [logicalId, r] of Object.entries<Cfn>(t.Resources)) {
    if (r.Type !== 'AWS::IAM::Policy') continue;
    expect(r.Properties.Roles, logicalId).toEqual([{ Ref: 'ControlRole' }]);
    const feature = r.Condition ? FEATURE_CONDITIONS[r.Condition]?.feature : undefined;
    expect(feature, `${logicalId} must be switched by a feature condition`).toBeDefined();
    out.push({ name: String(r.Properties.PolicyName), features: { [feature!]: true }, statements: (r.Properties.PolicyDocument.Statement as Cfn[]).map(templateStatement) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// docs/cloudformation.md
// ---------------------------------------------------------------------------------------------

/** The part of the docs under the `## …<template>…` heading. */
function docsSection(name: TemplateName): string {
  const docs = readFileSync(path.join(ROOT, 'docs/cloudformation.md'), 'utf8');
  const sections = docs.split(/^## /m);
  const section = sections.find((s) => s.split('\n')[0]!.includes(name));
  if (!section) throw new Error(`docs/cloudformation.md has no "## … ${name}" section`);
  return section;
}

const TAGGABLE = new Set([
  'AWS::EC2::VPC', 'AWS::EC2::InternetGateway', 'AWS::EC2::RouteTable', 'AWS::EC2::Subnet', 'AWS::EC2::EIP', 'AWS::EC2::NatGateway',
  'AWS::EC2::SecurityGroup', 'AWS::ECS::Cluster', 'AWS::Logs::LogGroup', 'AWS::IAM::Role',
]);
const tagsOf = (r: Cfn): Record<string, unknown> => Object.fromEntries((r.Properties?.Tags ?? []).map((tag: Cfn) => [tag.Key, tag.Value]));

// =============================================================================================
// Part 1: the templates as text.
// =============================================================================================

describe('CloudFormation templates as text', () => {
  it.each(TEMPLATES)('%s refers only to parameters, resources and conditions that exist, and uses all of them', (name) => {
    const t = template(name);
    expect(t.AWSTemplateFormatVersion).toBe('2010-09-09');
    expect(Object.keys(t.Resources).length).toBeGreaterThan(0);
    expect(templateProblems(t)).toEqual([]);
  });

  it('the reference checker itself catches broken templates', () => {
    const broken = parseTemplate(`
Parameters:
  Used: { Type: String, Description: used }
  Unused: { Type: String, Description: never referenced }
Conditions:
  On: !Equals [!Ref Used, 'yes']
  Never: !Equals [!Ref Used, 'no']
Resources:
  Maybe:
    Type: AWS::EC2::VPC
    Condition: On
    Properties: { CidrBlock: !Ref Used }
  Always:
    Type: AWS::EC2::Subnet
    DependsOn: Ghost
    Properties:
      VpcId: !Ref Maybe
      CidrBlock: !Sub '\${Missing}/24'
      AvailabilityZone: !If [Undefined, a, b]
      Ipv6CidrBlock: !GetAtt Nowhere.Arn
Outputs:
  Guarded:
    Condition: On
    Value: !Ref Maybe
`);
    const problems = templateProblems(broken).join('\n');
    expect(problems).toMatch(/Always\.DependsOn: Ghost is not a resource/);
    expect(problems).toMatch(/Always\.VpcId: refers to Maybe, which exists only when On/);
    expect(problems).toMatch(/Missing is neither a parameter/);
    expect(problems).toMatch(/condition Undefined is not defined/);
    expect(problems).toMatch(/Nowhere is not a resource/);
    expect(problems).toMatch(/Parameters\.Unused is never used/);
    expect(problems).toMatch(/Conditions\.Never is never used/);
    expect(problems).not.toMatch(/Outputs\.Guarded/);
  });

  it.each(TEMPLATES)('%s tags everything taggable with Project (a parameter) and berth:managed-by (fixed)', (name) => {
    const t = template(name);
    expect(t.Parameters.ProjectTag).toMatchObject({ Type: 'String', Default: 'berth' });
    for (const [logicalId, r] of Object.entries<Cfn>(t.Resources)) {
      if (!TAGGABLE.has(r.Type)) continue;
      expect(tagsOf(r), logicalId).toMatchObject({ Project: { Ref: 'ProjectTag' }, 'berth:managed-by': 'cloudformation' });
    }
  });

  it.each(TEMPLATES)('%s: docs/cloudformation.md documents every parameter, output and the capabilities', (name) => {
    const t = template(name);
    const section = docsSection(name);
    for (const parameter of Object.keys(t.Parameters)) expect(section, `parameter ${parameter}`).toContain(`\`${parameter}\``);
    for (const output of Object.keys(t.Outputs)) expect(section, `output ${output}`).toContain(`\`${output}\``);
    expect(section).toMatch(/aws cloudformation deploy/);
    expect(section).toContain(`--template-file infra/cloudformation/${name}`);
    // Templates with IAM resources need CAPABILITY_NAMED_IAM (they accept role names), and say so
    // in their header and in the docs; moto does not enforce capabilities, so this is the check.
    const needsIam = Object.values<Cfn>(t.Resources).some((r) => String(r.Type).startsWith('AWS::IAM::'));
    const text = templateText(name);
    if (needsIam) {
      expect(text).toMatch(/^# Capabilities: CAPABILITY_NAMED_IAM/m);
      expect(section).toMatch(/--capabilities CAPABILITY_NAMED_IAM/);
    } else {
      expect(text).toMatch(/^# Capabilities: none/m);
      expect(section).not.toMatch(/--capabilities/);
    }
  });

  it('network.yaml names its zones (no positions), turns DNS on and gives tasks a group with no ingress', () => {
    const t = template('network.yaml');
    expect(JSON.stringify(t)).not.toContain('Fn::GetAZs');
    expect(t.Parameters.AvailabilityZone1.Type).toBe('AWS::EC2::AvailabilityZone::Name');
    expect(t.Parameters.AvailabilityZone2.Type).toBe('AWS::EC2::AvailabilityZone::Name');
    expect(t.Parameters.AvailabilityZone3).toMatchObject({ Type: 'String', Default: '' });
    expect(t.Parameters.NatGateways.AllowedValues).toEqual(['None', 'Single', 'PerZone']);
    // moto ignores these two properties (its CloudFormation VPCs keep DNS hostnames off).
    expect(t.Resources.Vpc.Properties).toMatchObject({ EnableDnsSupport: true, EnableDnsHostnames: true });
    // moto also ignores SecurityGroupEgress (it always adds allow-all egress).
    const sg = t.Resources.TaskSecurityGroup.Properties;
    expect(sg.SecurityGroupIngress).toBeUndefined();
    expect(sg.SecurityGroupEgress).toEqual([expect.objectContaining({ IpProtocol: '-1', CidrIp: '0.0.0.0/0' })]);
    const ingressRules = Object.entries<Cfn>(t.Resources).filter(([, r]) => r.Type === 'AWS::EC2::SecurityGroupIngress');
    expect(ingressRules).toEqual([]);
    for (const [logicalId, r] of Object.entries<Cfn>(t.Resources)) {
      if (r.Type === 'AWS::EC2::Subnet') expect(r.Properties.MapPublicIpOnLaunch, logicalId).toBe(false);
    }
  });

  it('network.yaml gives each private subnet the route table of its own zone, and public subnets the public one', () => {
    const t = template('network.yaml');
    const associations = Object.entries<Cfn>(t.Resources)
      .filter(([, r]) => r.Type === 'AWS::EC2::SubnetRouteTableAssociation')
      .map(([, r]) => [r.Properties.SubnetId.Ref, r.Properties.RouteTableId.Ref, r.Condition ?? null]);
    expect(associations).toEqual([
      ['PublicSubnet1', 'PublicRouteTable', null],
      ['PublicSubnet2', 'PublicRouteTable', null],
      ['PublicSubnet3', 'PublicRouteTable', 'HasThirdZone'],
      ['PrivateSubnet1', 'PrivateRouteTable1', null],
      ['PrivateSubnet2', 'PrivateRouteTable2', null],
      ['PrivateSubnet3', 'PrivateRouteTable3', 'HasThirdZone'],
    ]);
  });

  it('cluster.yaml: Fargate and Fargate Spot, Container Insights by parameter, the managed execution policy (moto ignores all three)', () => {
    const t = template('cluster.yaml');
    const cluster = t.Resources.Cluster.Properties;
    expect(cluster.CapacityProviders).toEqual(['FARGATE', 'FARGATE_SPOT']);
    expect(cluster.DefaultCapacityProviderStrategy).toEqual([{ CapacityProvider: 'FARGATE', Weight: 1 }]);
    expect(cluster.ClusterSettings).toEqual([{ Name: 'containerInsights', Value: { Ref: 'ContainerInsights' } }]);
    expect(t.Parameters.ContainerInsights).toMatchObject({ Default: 'disabled', AllowedValues: ['disabled', 'enabled', 'enhanced'] });
    const execution = t.Resources.ExecutionRole.Properties;
    expect(execution.ManagedPolicyArns).toEqual([
      { 'Fn::Sub': 'arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy' },
    ]);
    expect(t.Resources.TaskRole.Properties.ManagedPolicyArns).toBeUndefined();
    expect(t.Resources.TaskRole.Properties.Policies).toBeUndefined();
    expect(t.Resources.TaskLogGroup.Properties).toEqual(
      expect.objectContaining({ LogGroupName: { Ref: 'LogGroupName' }, RetentionInDays: { Ref: 'LogRetentionDays' } }),
    );
    expect(t.Parameters.LogGroupName.Default).toMatch(/^\/berth\//);
  });

  it('cluster.yaml creates the cluster only with CreateCluster=true, and names the existing one otherwise', () => {
    const t = template('cluster.yaml');
    expect(t.Parameters.CreateCluster).toMatchObject({ Type: 'String', Default: 'true', AllowedValues: ['true', 'false'] });
    expect(t.Conditions.CreatesCluster).toEqual({ 'Fn::Equals': [{ Ref: 'CreateCluster' }, 'true'] });
    expect(t.Resources.Cluster.Condition).toBe('CreatesCluster');
    // Nothing else in the stack depends on the cluster: the roles and the log group stay.
    for (const [logicalId, r] of Object.entries<Cfn>(t.Resources)) {
      if (logicalId !== 'Cluster') expect(r.Condition === 'CreatesCluster', logicalId).toBe(false);
    }
    expect(t.Outputs.ClusterName.Value).toEqual({ 'Fn::If': ['CreatesCluster', { Ref: 'Cluster' }, { Ref: 'ClusterName' }] });
    expect(t.Outputs.ClusterArn.Value['Fn::If'][0]).toBe('CreatesCluster');
    expect(t.Outputs.ClusterArn.Value['Fn::If'][2]).toEqual({
      'Fn::Sub': 'arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:cluster/${ClusterName}',
    });
  });

  it('control-role.yaml: every statement stays within CONTROL_ROLE_ALLOWED_ACTIONS, and together they cover it', () => {
    const t = template('control-role.yaml');
    const policies = controlRolePolicies(t);
    expect(policies.map((p) => p.name)).toEqual(['berth-control', 'berth-control-services', 'berth-control-schedules']);
    const sids = new Set(CONTROL_ROLE_ALLOWED_ACTIONS.map((g) => g.sid));
    for (const policy of policies) {
      const { excess } = checkControlRolePolicy({ Statement: policy.statements }, { bindings: TEMPLATE_BINDINGS, features: policy.features });
      expect(excess, policy.name).toEqual([]);
      for (const s of policy.statements) expect(sids.has(String(s.Sid)), `${policy.name}: Sid ${s.Sid}`).toBe(true);
    }
    // The core policy alone covers every grant that is not behind a feature…
    expect(checkControlRolePolicy({ Statement: policies[0]!.statements }, { bindings: TEMPLATE_BINDINGS }).missing).toEqual([]);
    // …and with every feature on, the template grants all the allow-list holds.
    const all = policies.flatMap((p) => p.statements);
    expect(
      checkControlRolePolicy({ Statement: all }, { bindings: TEMPLATE_BINDINGS, features: { services: true, eventBridgeSchedules: true } }).missing,
    ).toEqual([]);
    // Nothing else can grant to the role.
    expect(t.Resources.ControlRole.Properties.ManagedPolicyArns).toBeUndefined();
    expect(Object.values<Cfn>(t.Resources).filter((r) => r.Type === 'AWS::IAM::ManagedPolicy')).toEqual([]);
    // Each feature condition is its parameter, default off.
    for (const [condition, { parameter }] of Object.entries(FEATURE_CONDITIONS)) {
      expect(t.Conditions[condition]).toEqual({ 'Fn::Equals': [{ Ref: parameter }, 'true'] });
      expect(t.Parameters[parameter]).toMatchObject({ Default: 'false', AllowedValues: ['true', 'false'] });
    }
  });

  it('control-role.yaml would fail its check if a statement were widened', () => {
    const t = template('control-role.yaml');
    const core = t.Resources.ControlRole.Properties.Policies[0].PolicyDocument.Statement as Cfn[];
    const widened = core.map((s) =>
      s.Sid === 'RegisterBerthTaskDefinitions' ? { ...s, Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task-definition/*' } } : s,
    );
    const unconditioned = core.map((s) => (s.Sid === 'PassTaskRolesToEcsTasks' ? { ...s, Condition: undefined } : s));
    for (const statements of [widened, unconditioned]) {
      expect(checkControlRolePolicy({ Statement: statements.map(templateStatement) }, { bindings: TEMPLATE_BINDINGS }).excess).not.toEqual([]);
    }
  });

  it('control-role.yaml keeps the External ID secret and refuses incomplete trust', () => {
    const t = template('control-role.yaml');
    expect(t.Parameters.ExternalId.NoEcho).toBe(true);
    expect(JSON.stringify(t.Outputs)).not.toMatch(/ExternalId"?\}/);
    expect(Object.keys(t.Outputs)).toEqual(['RoleArn', 'RoleName', 'ExternalIdRequired', 'TrustMode', 'ServiceStackRoleArn']);
    expect(t.Outputs.ServiceStackRoleArn.Condition).toBe('ServicesEnabled');
    expect(t.Parameters.TrustMode.AllowedValues).toEqual(['aws-principal', 'oidc']);
    const rules = JSON.stringify(t.Rules);
    for (const parameter of ['TrustedPrincipal', 'ExternalId', 'OidcProviderArn', 'OidcSubject']) expect(rules).toContain(`{"Ref":"${parameter}"}`);
    // The parameter patterns refuse a wildcard principal and accept what Berth's schema accepts.
    const principal = new RegExp(t.Parameters.TrustedPrincipal.AllowedPattern);
    expect(principal.test('*')).toBe(false);
    expect(principal.test('arn:aws:iam::111122223333:role/berth-server')).toBe(true);
    expect(principal.test('111122223333')).toBe(true);
    const externalId = new RegExp(t.Parameters.ExternalId.AllowedPattern);
    expect(externalId.test('berth-3f9c2a7e-1b6d')).toBe(true);
    expect(externalId.test('has space')).toBe(false);
    expect(new RegExp(t.Parameters.TaskDefinitionPrefix.AllowedPattern).test('')).toBe(false);
    expect(new RegExp(t.Parameters.LogGroupPrefix.AllowedPattern).test('')).toBe(false);
  });
});

// =============================================================================================
// Part 2: deployed to moto.
// =============================================================================================

const ACCOUNT = '123456789012'; // moto's default account
const REGION = 'us-east-1';

/**
 * A policy document as IAM (URL-encoded JSON) or moto hands it back. moto stores the inline
 * policies CloudFormation gives it as a Python dict and returns its repr ({'Version': '…'}), so
 * that form is read too: single-quoted strings, True / False / None.
 */
function policyJson(document: string | undefined): Cfn {
  let text = document ?? '';
  if (/^%7B/i.test(text)) text = decodeURIComponent(text);
  if (text.startsWith('{"') || text.startsWith('{\n')) return JSON.parse(text);
  let json = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'" || c === '"') {
      let value = '';
      for (i++; i < text.length && text[i] !== c; i++) value += text[i] === '\\' ? text[++i] : text[i];
      json += JSON.stringify(value);
    } else if (/[A-Z]/.test(c)) {
      const word = /^(True|False|None)/.exec(text.slice(i))?.[1];
      if (!word) throw new Error(`cannot read policy document: ${text}`);
      json += { True: 'true', False: 'false', None: 'null' }[word];
      i += word.length - 1;
    } else {
      json += c;
    }
  }
  return JSON.parse(json);
}

describe.runIf(await motoAvailable())('CloudFormation templates deployed to moto', () => {
  let moto: Moto;
  let cfn: CloudFormationClient;
  let ec2: EC2Client;
  let ecs: ECSClient;
  let iam: IAMClient;
  let logs: CloudWatchLogsClient;
  let elb: ElasticLoadBalancingV2Client;

  beforeAll(async () => {
    moto = await startMoto();
    const config = awsTestConfig(moto.endpoint);
    cfn = new CloudFormationClient(config);
    ec2 = new EC2Client(config);
    ecs = new ECSClient(config);
    iam = new IAMClient(config);
    logs = new CloudWatchLogsClient(config);
    elb = new ElasticLoadBalancingV2Client(config);
  });

  afterAll(async () => {
    for (const client of [cfn, ec2, ecs, iam, logs, elb]) client?.destroy();
    await moto?.stop();
  });

  /** CreateStack, wait for the end state, and return the outputs and logical → physical ids. */
  async function deploy(stackName: string, name: TemplateName, parameters: Record<string, string>) {
    await cfn.send(
      new CreateStackCommand({
        StackName: stackName,
        TemplateBody: templateText(name),
        Parameters: Object.entries(parameters).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue })),
        Capabilities: ['CAPABILITY_NAMED_IAM'],
      }),
    );
    let status = '';
    let stack;
    for (let i = 0; i < 200 && !/_COMPLETE$|_FAILED$/.test(status); i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 50));
      stack = (await cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
      status = stack?.StackStatus ?? '';
    }
    expect(status, stack?.StackStatusReason).toBe('CREATE_COMPLETE');
    const outputs = Object.fromEntries((stack?.Outputs ?? []).map((o) => [o.OutputKey!, o.OutputValue!]));
    const described = await cfn.send(new DescribeStackResourcesCommand({ StackName: stackName }));
    const resources = Object.fromEntries((described.StackResources ?? []).map((r) => [r.LogicalResourceId!, r.PhysicalResourceId!]));
    return { outputs, resources, stack: stack! };
  }

  async function subnets(ids: string[]): Promise<Subnet[]> {
    const found = (await ec2.send(new DescribeSubnetsCommand({ SubnetIds: ids }))).Subnets ?? [];
    // In the outputs' order (zone order).
    return ids.map((id) => found.find((s) => s.SubnetId === id)!);
  }
  /**
   * The stack's route tables by logical id. (moto records CloudFormation's subnet associations
   * apart from the route tables, so DescribeRouteTables shows none; which subnet uses which table
   * is checked in the template text.)
   */
  async function routeTables(vpcId: string, resources: Record<string, string>): Promise<Record<string, RouteTable>> {
    const tables = (await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }))).RouteTables ?? [];
    const out: Record<string, RouteTable> = {};
    for (const [logicalId, physicalId] of Object.entries(resources)) {
      const table = tables.find((t) => t.RouteTableId === physicalId);
      if (table && /RouteTable\d?$/.test(logicalId)) out[logicalId] = table;
    }
    return out;
  }
  const defaultRoute = (table: RouteTable | undefined) => table?.Routes?.find((r) => r.DestinationCidrBlock === '0.0.0.0/0');
  async function natGateways(vpcId: string) {
    return (await ec2.send(new DescribeNatGatewaysCommand({ Filter: [{ Name: 'vpc-id', Values: [vpcId] }] }))).NatGateways ?? [];
  }
  async function endpoints(vpcId: string) {
    return (await ec2.send(new DescribeVpcEndpointsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }))).VpcEndpoints ?? [];
  }

  describe('network.yaml', () => {
    it('two named zones, one shared NAT gateway, the S3 gateway endpoint, a task group with no ingress', async () => {
      const { outputs, resources } = await deploy('net-two', 'network.yaml', {
        AvailabilityZone1: 'us-east-1b',
        AvailabilityZone2: 'us-east-1d',
        NatGateways: 'Single',
      });
      expect(Object.keys(outputs).sort()).toEqual(['AvailabilityZones', 'PrivateSubnetIds', 'PublicSubnetIds', 'TaskSecurityGroupId', 'VpcId']);
      const vpcId = outputs.VpcId!;
      const vpc = (await ec2.send(new DescribeVpcsCommand({ VpcIds: [vpcId] }))).Vpcs![0]!;
      expect(vpc.CidrBlock).toBe('10.40.0.0/16');
      expect(vpc.Tags).toEqual(expect.arrayContaining([{ Key: 'Project', Value: 'berth' }, { Key: 'berth:managed-by', Value: 'cloudformation' }]));
      // moto's CloudFormation ignores EnableDnsHostnames (checked in the template text above);
      // DNS support is on, as the template asks.
      const dnsSupport = await ec2.send(new DescribeVpcAttributeCommand({ VpcId: vpcId, Attribute: 'enableDnsSupport' }));
      expect(dnsSupport.EnableDnsSupport?.Value).toBe(true);

      const publicIds = outputs.PublicSubnetIds!.split(',');
      const privateIds = outputs.PrivateSubnetIds!.split(',');
      expect(publicIds).toHaveLength(2);
      expect(privateIds).toHaveLength(2);
      const pub = await subnets(publicIds);
      const priv = await subnets(privateIds);
      expect(pub.map((s) => s.AvailabilityZone)).toEqual(['us-east-1b', 'us-east-1d']);
      expect(priv.map((s) => s.AvailabilityZone)).toEqual(['us-east-1b', 'us-east-1d']);
      expect(pub.map((s) => s.CidrBlock)).toEqual(['10.40.0.0/20', '10.40.16.0/20']);
      expect(priv.map((s) => s.CidrBlock)).toEqual(['10.40.64.0/18', '10.40.128.0/18']);
      for (const s of [...pub, ...priv]) expect(s.VpcId).toBe(vpcId);
      expect(outputs.AvailabilityZones).toBe('us-east-1b,us-east-1d');

      const nats = await natGateways(vpcId);
      expect(nats).toHaveLength(1);
      expect(nats[0]!.SubnetId).toBe(publicIds[0]);
      const tables = await routeTables(vpcId, resources);
      expect(Object.keys(tables).sort()).toEqual(['PrivateRouteTable1', 'PrivateRouteTable2', 'PublicRouteTable']);
      expect(defaultRoute(tables.PublicRouteTable)?.GatewayId).toBe(resources.InternetGateway);
      // One route table per zone, both through the one NAT gateway.
      expect(defaultRoute(tables.PrivateRouteTable1)?.NatGatewayId).toBe(nats[0]!.NatGatewayId);
      expect(defaultRoute(tables.PrivateRouteTable2)?.NatGatewayId).toBe(nats[0]!.NatGatewayId);

      const group = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [outputs.TaskSecurityGroupId!] }))).SecurityGroups![0]!;
      expect(group.VpcId).toBe(vpcId);
      expect(group.IpPermissions ?? []).toEqual([]);
      expect(group.IpPermissionsEgress).toEqual([expect.objectContaining({ IpProtocol: '-1', IpRanges: [expect.objectContaining({ CidrIp: '0.0.0.0/0' })] })]);

      const eps = await endpoints(vpcId);
      expect(eps.map((e) => [e.VpcEndpointType, e.ServiceName])).toEqual([['Gateway', 'com.amazonaws.us-east-1.s3']]);
      expect([...(eps[0]!.RouteTableIds ?? [])].sort()).toEqual(Object.values(tables).map((t) => t.RouteTableId).sort());
    });

    it('three named zones, a NAT gateway per zone, interface endpoints reachable from the task group only', async () => {
      const { outputs, resources } = await deploy('net-three', 'network.yaml', {
        AvailabilityZone1: 'us-east-1c',
        AvailabilityZone2: 'us-east-1a',
        AvailabilityZone3: 'us-east-1b',
        VpcCidr: '10.50.0.0/16',
        PublicSubnet1Cidr: '10.50.0.0/24',
        PublicSubnet2Cidr: '10.50.1.0/24',
        PublicSubnet3Cidr: '10.50.2.0/24',
        PrivateSubnet1Cidr: '10.50.64.0/20',
        PrivateSubnet2Cidr: '10.50.80.0/20',
        PrivateSubnet3Cidr: '10.50.96.0/20',
        NatGateways: 'PerZone',
        EnableInterfaceEndpoints: 'true',
        ProjectTag: 'data-platform',
      });
      const vpcId = outputs.VpcId!;
      const publicIds = outputs.PublicSubnetIds!.split(',');
      const privateIds = outputs.PrivateSubnetIds!.split(',');
      expect(publicIds).toHaveLength(3);
      expect(privateIds).toHaveLength(3);
      const zones = ['us-east-1c', 'us-east-1a', 'us-east-1b'];
      expect((await subnets(publicIds)).map((s) => s.AvailabilityZone)).toEqual(zones);
      const priv = await subnets(privateIds);
      expect(priv.map((s) => s.AvailabilityZone)).toEqual(zones);
      expect(priv.map((s) => s.CidrBlock)).toEqual(['10.50.64.0/20', '10.50.80.0/20', '10.50.96.0/20']);
      expect(priv[0]!.Tags).toEqual(expect.arrayContaining([{ Key: 'Project', Value: 'data-platform' }]));

      // One NAT gateway in each zone's public subnet, and each zone's private subnet routes to
      // the gateway in its own zone.
      const nats = await natGateways(vpcId);
      expect(nats.map((n) => n.SubnetId).sort()).toEqual([...publicIds].sort());
      const tables = await routeTables(vpcId, resources);
      expect(Object.keys(tables)).toHaveLength(4);
      [1, 2, 3].forEach((zone) => {
        const nat = nats.find((n) => n.SubnetId === publicIds[zone - 1]);
        expect(defaultRoute(tables[`PrivateRouteTable${zone}`])?.NatGatewayId, `zone ${zones[zone - 1]}`).toBe(nat!.NatGatewayId);
      });

      const eps = await endpoints(vpcId);
      const interfaces = eps.filter((e) => e.VpcEndpointType === 'Interface');
      expect(interfaces.map((e) => e.ServiceName).sort()).toEqual([
        'com.amazonaws.us-east-1.ecr.api',
        'com.amazonaws.us-east-1.ecr.dkr',
        'com.amazonaws.us-east-1.logs',
        'com.amazonaws.us-east-1.secretsmanager',
      ]);
      expect(eps.filter((e) => e.VpcEndpointType === 'Gateway').map((e) => e.ServiceName)).toEqual(['com.amazonaws.us-east-1.s3']);
      for (const e of interfaces) {
        expect([...(e.SubnetIds ?? [])].sort(), e.ServiceName).toEqual([...privateIds].sort());
        expect(e.PrivateDnsEnabled, e.ServiceName).toBe(true);
      }
      const endpointGroupIds = [...new Set(interfaces.flatMap((e) => (e.Groups ?? []).map((g) => g.GroupId!)))];
      expect(endpointGroupIds).toHaveLength(1);
      const endpointGroup = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: endpointGroupIds }))).SecurityGroups![0]!;
      expect(endpointGroup.IpPermissions).toEqual([
        expect.objectContaining({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, UserIdGroupPairs: [expect.objectContaining({ GroupId: outputs.TaskSecurityGroupId })] }),
      ]);
      const taskGroup = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [outputs.TaskSecurityGroupId!] }))).SecurityGroups![0]!;
      expect(taskGroup.IpPermissions ?? []).toEqual([]);
    });

    it('no NAT gateway: private subnets have no default route; endpoints off means none', async () => {
      const { outputs, resources } = await deploy('net-none', 'network.yaml', {
        AvailabilityZone1: 'us-east-1a',
        AvailabilityZone2: 'us-east-1b',
        VpcCidr: '10.60.0.0/16',
        PublicSubnet1Cidr: '10.60.0.0/24',
        PublicSubnet2Cidr: '10.60.1.0/24',
        PrivateSubnet1Cidr: '10.60.64.0/20',
        PrivateSubnet2Cidr: '10.60.80.0/20',
        NatGateways: 'None',
        EnableS3GatewayEndpoint: 'false',
      });
      const vpcId = outputs.VpcId!;
      expect(await natGateways(vpcId)).toEqual([]);
      const tables = await routeTables(vpcId, resources);
      expect(defaultRoute(tables.PrivateRouteTable1)).toBeUndefined();
      expect(defaultRoute(tables.PrivateRouteTable2)).toBeUndefined();
      expect(defaultRoute(tables.PublicRouteTable)?.GatewayId).toBe(resources.InternetGateway);
      expect(await endpoints(vpcId)).toEqual([]);
    });
  });

  describe('cluster.yaml', () => {
    it('creates the cluster, both roles with their trust and secret policies, and the log group with its retention', async () => {
      const { outputs, resources } = await deploy('cluster', 'cluster.yaml', {
        ClusterName: 'berth-test',
        ContainerInsights: 'enabled',
        LogGroupName: '/berth/test',
        LogRetentionDays: '14',
        SecretNamePrefix: 'berth/test/',
        ExecutionRoleName: 'berth-test-execution',
      });
      expect(Object.keys(outputs).sort()).toEqual(['ClusterArn', 'ClusterName', 'ExecutionRoleArn', 'LogGroupName', 'TaskRoleArn']);
      expect(outputs.ClusterName).toBe('berth-test');

      const clusters = await ecs.send(new DescribeClustersCommand({ clusters: ['berth-test'], include: ['SETTINGS', 'TAGS'] }));
      const cluster = clusters.clusters?.[0];
      expect(cluster).toMatchObject({ clusterName: 'berth-test', clusterArn: outputs.ClusterArn, status: 'ACTIVE' });
      expect(outputs.ClusterArn).toBe(`arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/berth-test`);
      // moto's CloudFormation drops CapacityProviders, ClusterSettings and Tags (the template text
      // is checked above); if a later moto reports them, they must be right.
      if (cluster?.capacityProviders?.length) expect(cluster.capacityProviders).toEqual(['FARGATE', 'FARGATE_SPOT']);

      const execution = (await iam.send(new GetRoleCommand({ RoleName: 'berth-test-execution' }))).Role!;
      expect(execution.Arn).toBe(outputs.ExecutionRoleArn);
      expect(policyJson(execution.AssumeRolePolicyDocument).Statement).toEqual([
        { Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' },
      ]);
      expect((await iam.send(new ListRolePoliciesCommand({ RoleName: 'berth-test-execution' }))).PolicyNames).toEqual(['berth-read-task-secrets']);
      const secrets = policyJson(
        (await iam.send(new GetRolePolicyCommand({ RoleName: 'berth-test-execution', PolicyName: 'berth-read-task-secrets' }))).PolicyDocument,
      );
      expect(secrets.Statement).toEqual([
        {
          Sid: 'ReadBerthSecrets',
          Effect: 'Allow',
          Action: 'secretsmanager:GetSecretValue',
          Resource: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:berth/test/*`,
        },
        { Sid: 'ReadBerthParameters', Effect: 'Allow', Action: 'ssm:GetParameters', Resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/berth/test/*` },
      ]);
      const executionTags = (await iam.send(new ListRoleTagsCommand({ RoleName: 'berth-test-execution' }))).Tags;
      expect(executionTags).toEqual(expect.arrayContaining([{ Key: 'Project', Value: 'berth' }, { Key: 'berth:managed-by', Value: 'cloudformation' }]));

      // The task role: a generated name, trust limited to this account's ECS, no permissions.
      const taskRoleName = resources.TaskRole!;
      const taskRole = (await iam.send(new GetRoleCommand({ RoleName: taskRoleName }))).Role!;
      expect(taskRole.Arn).toBe(outputs.TaskRoleArn);
      expect(policyJson(taskRole.AssumeRolePolicyDocument).Statement).toEqual([
        {
          Effect: 'Allow',
          Principal: { Service: 'ecs-tasks.amazonaws.com' },
          Action: 'sts:AssumeRole',
          Condition: { ArnLike: { 'aws:SourceArn': `arn:aws:ecs:${REGION}:${ACCOUNT}:*` }, StringEquals: { 'aws:SourceAccount': ACCOUNT } },
        },
      ]);
      expect((await iam.send(new ListRolePoliciesCommand({ RoleName: taskRoleName }))).PolicyNames).toEqual([]);

      const groups = (await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/berth/test' }))).logGroups ?? [];
      expect(groups.map((g) => [g.logGroupName, Number(g.retentionInDays)])).toEqual([['/berth/test', 14]]);
      expect(outputs.LogGroupName).toBe('/berth/test');
      const groupTags = await logs.send(new ListTagsForResourceCommand({ resourceArn: groups[0]!.arn!.replace(/:\*$/, '') }));
      expect(groupTags.tags).toMatchObject({ Project: 'berth', 'berth:managed-by': 'cloudformation' });
    });

    it('CreateEventBridgeRole=true: a role EventBridge may assume to run only Berth task definitions in the cluster, passing only the task roles', async () => {
      const { outputs, resources } = await deploy('cluster-events', 'cluster.yaml', {
        ClusterName: 'berth-events',
        LogGroupName: '/berth/events',
        CreateEventBridgeRole: 'true',
        TaskDefinitionPrefix: 'acme-',
      });
      expect(Object.keys(outputs).sort()).toEqual(['ClusterArn', 'ClusterName', 'EventBridgeRoleArn', 'ExecutionRoleArn', 'LogGroupName', 'TaskRoleArn']);
      const role = (await iam.send(new GetRoleCommand({ RoleName: resources.EventBridgeRole! }))).Role!;
      expect(role.Arn).toBe(outputs.EventBridgeRoleArn);
      expect(policyJson(role.AssumeRolePolicyDocument).Statement).toEqual([
        {
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT } },
        },
      ]);
      expect((await iam.send(new ListRolePoliciesCommand({ RoleName: role.RoleName! }))).PolicyNames).toEqual(['berth-run-scheduled-tasks']);
      const policy = policyJson(
        (await iam.send(new GetRolePolicyCommand({ RoleName: role.RoleName!, PolicyName: 'berth-run-scheduled-tasks' }))).PolicyDocument,
      );
      expect(policy.Statement).toEqual([
        {
          Sid: 'RunBerthTasksInTheCluster',
          Effect: 'Allow',
          Action: 'ecs:RunTask',
          Resource: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/acme-*`,
          Condition: { ArnEquals: { 'ecs:cluster': `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/berth-events` } },
        },
        {
          Sid: 'TagTasksItStarts',
          Effect: 'Allow',
          Action: 'ecs:TagResource',
          Resource: `arn:aws:ecs:${REGION}:${ACCOUNT}:task/berth-events/*`,
          Condition: { StringEquals: { 'ecs:CreateAction': 'RunTask' } },
        },
        {
          Sid: 'PassTaskRolesToEcsTasks',
          Effect: 'Allow',
          Action: 'iam:PassRole',
          Resource: [outputs.ExecutionRoleArn, outputs.TaskRoleArn],
          Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
        },
      ]);
    });

    it('CreateCluster=false: uses the existing cluster (creates none) and still creates the roles and the log group', async () => {
      await ecs.send(new CreateClusterCommand({ clusterName: 'existing-analytics' }));
      const before = (await ecs.send(new ListClustersCommand({}))).clusterArns ?? [];
      const { outputs, resources } = await deploy('cluster-existing', 'cluster.yaml', {
        ClusterName: 'existing-analytics',
        CreateCluster: 'false',
        LogGroupName: '/berth/existing',
      });
      expect(resources.Cluster).toBeUndefined();
      // (moto lists the skipped conditional resource without a logical id; no resource is a cluster.)
      expect(Object.keys(resources).filter((id) => id !== 'undefined').sort()).toEqual(['ExecutionRole', 'TaskLogGroup', 'TaskRole']);
      const types = (await cfn.send(new DescribeStackResourcesCommand({ StackName: 'cluster-existing' }))).StackResources!.map((r) => r.ResourceType);
      expect(types).not.toContain('AWS::ECS::Cluster');
      expect((await ecs.send(new ListClustersCommand({}))).clusterArns ?? []).toEqual(before);
      expect(outputs.ClusterName).toBe('existing-analytics');
      expect(outputs.ClusterArn).toBe(`arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/existing-analytics`);
      expect((await iam.send(new GetRoleCommand({ RoleName: resources.ExecutionRole! }))).Role!.Arn).toBe(outputs.ExecutionRoleArn);
      expect((await iam.send(new GetRoleCommand({ RoleName: resources.TaskRole! }))).Role!.Arn).toBe(outputs.TaskRoleArn);
      const groups = (await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/berth/existing' }))).logGroups ?? [];
      expect(groups.map((g) => g.logGroupName)).toEqual(['/berth/existing']);
    });

    it('adds kms:Decrypt through Secrets Manager and SSM only when a key is given', async () => {
      const key = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
      const { resources } = await deploy('cluster-kms', 'cluster.yaml', { ClusterName: 'berth-kms', LogGroupName: '/berth/kms', SecretsKmsKeyArn: key });
      const roleName = resources.ExecutionRole!;
      expect(((await iam.send(new ListRolePoliciesCommand({ RoleName: roleName }))).PolicyNames ?? []).sort()).toEqual([
        'berth-decrypt-task-secrets',
        'berth-read-task-secrets',
      ]);
      const decrypt = policyJson((await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: 'berth-decrypt-task-secrets' }))).PolicyDocument);
      expect(decrypt.Statement).toEqual([
        {
          Sid: 'DecryptBerthSecrets',
          Effect: 'Allow',
          Action: 'kms:Decrypt',
          Resource: key,
          Condition: { StringEquals: { 'kms:ViaService': [`secretsmanager.${REGION}.amazonaws.com`, `ssm.${REGION}.amazonaws.com`] } },
        },
      ]);
      const groups = (await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/berth/kms' }))).logGroups ?? [];
      expect(groups.map((g) => Number(g.retentionInDays))).toEqual([30]);
    });
  });

  describe('service-load-balancer.yaml', () => {
    it('the load balancer reachable only from the allowed CIDRs, the tasks only from it; an ip target group with the health check; HTTPS with the TLS policy', async () => {
      const vpc = (await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'isDefault', Values: ['true'] }] }))).Vpcs![0]!.VpcId!;
      const subnetIds = ((await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc] }] }))).Subnets ?? [])
        .map((x) => x.SubnetId!)
        .slice(0, 2);
      // moto's ELBv2 checks that an HTTPS listener's certificate exists (ACM, or IAM as here).
      const cert = await iam.send(
        new UploadServerCertificateCommand({
          ServerCertificateName: 'lb-template-test',
          CertificateBody: '-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----',
          PrivateKey: '-----BEGIN RSA PRIVATE KEY-----\nMIIBtest\n-----END RSA PRIVATE KEY-----',
        }),
      );
      const certificateArn = cert.ServerCertificateMetadata!.Arn!;
      const { outputs, resources } = await deploy('berth-api-lb', 'service-load-balancer.yaml', {
        ServiceName: 'api',
        VpcId: vpc,
        ContainerPort: '8080',
        Scheme: 'internal',
        LoadBalancerSubnets: subnetIds.join(','),
        AllowedCidr1: '203.0.113.7/32',
        AllowedCidr2: '10.20.0.0/16',
        ListenerPort: '8443',
        CertificateArn: certificateArn,
        SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
        HealthCheckPath: '/ready',
        HealthCheckIntervalSeconds: '10',
        HealthCheckTimeoutSeconds: '3',
        HealthyThresholdCount: '2',
        UnhealthyThresholdCount: '5',
        HealthCheckMatcher: '200-299',
      });
      expect(Object.keys(outputs).sort()).toEqual([
        'ListenerArn',
        'LoadBalancerArn',
        'LoadBalancerDnsName',
        'LoadBalancerSecurityGroupId',
        'ServiceSecurityGroupId',
        'TargetGroupArn',
      ]);
      // No alias record without a zone and a name. (Only two CIDR rules: see the group below.)
      expect(resources.DnsRecord).toBeUndefined();

      const lbGroup = outputs.LoadBalancerSecurityGroupId!;
      const serviceGroup = outputs.ServiceSecurityGroupId!;
      const groups = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [lbGroup, serviceGroup] }))).SecurityGroups!;
      const ingress = (id: string) =>
        groups
          .find((g) => g.GroupId === id)!
          .IpPermissions!.flatMap((p) => [
            ...(p.IpRanges ?? []).map((r) => `${p.IpProtocol} ${p.FromPort}-${p.ToPort} from ${r.CidrIp}`),
            ...(p.UserIdGroupPairs ?? []).map((g) => `${p.IpProtocol} ${p.FromPort}-${p.ToPort} from ${g.GroupId}`),
          ])
          .sort();
      expect(ingress(lbGroup)).toEqual(['tcp 8443-8443 from 10.20.0.0/16', 'tcp 8443-8443 from 203.0.113.7/32']);
      expect(ingress(serviceGroup)).toEqual([`tcp 8080-8080 from ${lbGroup}`]);
      for (const g of groups) expect(g.VpcId).toBe(vpc);
      // The load balancer group's egress (to the service group on 8080 only) is in the template:
      // moto's CloudFormation ignores SecurityGroupEgress and keeps the default rule.
      const t = template('service-load-balancer.yaml');
      expect(t.Resources.LoadBalancerSecurityGroup.Properties.SecurityGroupEgress).toEqual([
        {
          Description: "To the service's tasks only",
          IpProtocol: 'tcp',
          FromPort: { Ref: 'ContainerPort' },
          ToPort: { Ref: 'ContainerPort' },
          DestinationSecurityGroupId: { 'Fn::GetAtt': ['ServiceSecurityGroup', 'GroupId'] },
        },
      ]);
      expect(t.Resources.ServiceSecurityGroup.Properties.SecurityGroupIngress).toBeUndefined();

      const [tg] = (await elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [outputs.TargetGroupArn!] }))).TargetGroups!;
      expect(tg).toMatchObject({
        TargetType: 'ip',
        Protocol: 'HTTP',
        Port: 8080,
        VpcId: vpc,
        HealthCheckProtocol: 'HTTP',
        HealthCheckPort: 'traffic-port',
        HealthCheckPath: '/ready',
        HealthCheckIntervalSeconds: 10,
        HealthCheckTimeoutSeconds: 3,
        HealthyThresholdCount: 2,
        UnhealthyThresholdCount: 5,
        Matcher: { HttpCode: '200-299' },
      });
      const [lb] = (await elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [outputs.LoadBalancerArn!] }))).LoadBalancers!;
      expect(lb).toMatchObject({ Type: 'application', Scheme: 'internal', SecurityGroups: [lbGroup], DNSName: outputs.LoadBalancerDnsName });
      expect(lb!.AvailabilityZones!.map((z) => z.SubnetId).sort()).toEqual([...subnetIds].sort());
      const listeners = (await elb.send(new DescribeListenersCommand({ LoadBalancerArn: outputs.LoadBalancerArn }))).Listeners!;
      expect(listeners).toEqual([
        expect.objectContaining({
          ListenerArn: outputs.ListenerArn,
          Port: 8443,
          Protocol: 'HTTPS',
          SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
          Certificates: [{ CertificateArn: certificateArn }],
          DefaultActions: [{ Type: 'forward', TargetGroupArn: outputs.TargetGroupArn }],
        }),
      ]);
    });

    it('an HTTP listener has no certificate and no TLS policy; the alias record exists only with a zone and a name', () => {
      const t = template('service-load-balancer.yaml');
      const listener = t.Resources.Listener.Properties;
      expect(listener.SslPolicy).toEqual({ 'Fn::If': ['IsHttps', { Ref: 'SslPolicy' }, { Ref: 'AWS::NoValue' }] });
      expect(listener.Certificates).toEqual({ 'Fn::If': ['IsHttps', [{ CertificateArn: { Ref: 'CertificateArn' } }], { Ref: 'AWS::NoValue' }] });
      // Only TLS 1.2+ policies can be chosen.
      expect(t.Parameters.SslPolicy.AllowedValues.every((p: string) => /TLS13|TLS-1-2|FS-1-2/.test(p))).toBe(true);
      expect(t.Rules.HttpsNeedsCertificate.Assertions[0].Assert).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'CertificateArn' }, ''] }] });
      // (moto cannot resolve LoadBalancer.CanonicalHostedZoneID, so the record is checked as text.)
      expect(t.Resources.DnsRecord).toMatchObject({
        Type: 'AWS::Route53::RecordSet',
        Condition: 'HasDns',
        Properties: {
          Type: 'A',
          AliasTarget: {
            DNSName: { 'Fn::GetAtt': ['LoadBalancer', 'DNSName'] },
            HostedZoneId: { 'Fn::GetAtt': ['LoadBalancer', 'CanonicalHostedZoneID'] },
          },
        },
      });
      expect(t.Resources.TargetGroup.Properties.TargetType).toBe('ip');
    });
  });

  describe('control-role.yaml', () => {
    const EXECUTION = `arn:aws:iam::${ACCOUNT}:role/berth-test-execution`;
    const TASK = `arn:aws:iam::${ACCOUNT}:role/berth-test-task`;
    const EVENTS_ROLE = `arn:aws:iam::${ACCOUNT}:role/berth-test-eventbridge`;
    const bindings = (taskRole?: string): ControlRoleBindings => ({
      Partition: 'aws',
      Region: REGION,
      Account: ACCOUNT,
      ClusterName: 'berth-test',
      TaskDefinitionPrefix: 'berth-',
      LogGroup: '/berth/*',
      ExecutionRoleArn: EXECUTION,
      ...(taskRole ? { TaskRoleArn: taskRole } : {}),
      ScheduleRulePrefix: 'berth-',
      SecretNamePrefix: 'berth/',
      EventBridgeRoleArn: EVENTS_ROLE,
    });
    async function inlinePolicies(roleName: string) {
      const names = (await iam.send(new ListRolePoliciesCommand({ RoleName: roleName }))).PolicyNames ?? [];
      const out: Record<string, Cfn> = {};
      for (const name of names) out[name] = policyJson((await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: name }))).PolicyDocument);
      return out;
    }

    it('aws-principal trust: the named principal with the External ID; the core policy only; the ID never shown', async () => {
      const externalId = 'berth-ext-8c1f0e2d7a';
      const { outputs, stack } = await deploy('control-principal', 'control-role.yaml', {
        TrustMode: 'aws-principal',
        TrustedPrincipal: 'arn:aws:iam::111122223333:role/berth-server',
        ExternalId: externalId,
        ClusterName: 'berth-test',
        ExecutionRoleArn: EXECUTION,
        TaskRoleArn: TASK,
        RoleName: 'berth-control-principal',
      });
      expect(outputs).toEqual({
        RoleArn: `arn:aws:iam::${ACCOUNT}:role/berth-control-principal`,
        RoleName: 'berth-control-principal',
        ExternalIdRequired: 'true',
        TrustMode: 'aws-principal',
      });
      // No output carries the External ID. (moto's DescribeStacks shows NoEcho parameters in
      // clear, unlike CloudFormation; NoEcho itself is checked in the template text.)
      expect(JSON.stringify(stack.Outputs)).not.toContain(externalId);

      const role = (await iam.send(new GetRoleCommand({ RoleName: 'berth-control-principal' }))).Role!;
      expect(role.Arn).toBe(outputs.RoleArn);
      expect(role.MaxSessionDuration).toBe(3600);
      expect(policyJson(role.AssumeRolePolicyDocument)).toEqual({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'BerthExternalId',
            Effect: 'Allow',
            Principal: { AWS: 'arn:aws:iam::111122223333:role/berth-server' },
            Action: 'sts:AssumeRole',
            Condition: { StringEquals: { 'sts:ExternalId': externalId } },
          },
        ],
      });
      const policies = await inlinePolicies('berth-control-principal');
      expect(Object.keys(policies)).toEqual(['berth-control']);
      expect(checkControlRolePolicy(policies['berth-control'], { bindings: bindings(TASK) })).toEqual({ excess: [], missing: [] });
      const passRole = (policies['berth-control'].Statement as Cfn[]).find((s) => s.Sid === 'PassTaskRolesToEcsTasks');
      expect(passRole.Resource).toEqual([EXECUTION, TASK]);
      const tags = (await iam.send(new ListRoleTagsCommand({ RoleName: 'berth-control-principal' }))).Tags;
      expect(tags).toEqual(expect.arrayContaining([{ Key: 'Project', Value: 'berth' }, { Key: 'berth:managed-by', Value: 'cloudformation' }]));
    });

    it('oidc trust: the provider with aud and sub conditions; feature policies only when switched on', async () => {
      const provider = `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`;
      const { outputs, resources } = await deploy('control-oidc', 'control-role.yaml', {
        TrustMode: 'oidc',
        OidcProviderArn: provider,
        OidcSubject: 'repo:acme/berth-deploy:ref:refs/heads/main',
        ClusterName: 'berth-test',
        ExecutionRoleArn: EXECUTION,
        EnableServices: 'true',
        EnableEventBridgeSchedules: 'true',
        EventBridgeRoleArn: EVENTS_ROLE,
      });
      expect(outputs.ExternalIdRequired).toBe('false');
      expect(outputs.TrustMode).toBe('oidc');
      const roleName = resources.ControlRole!;
      expect(outputs.RoleName).toBe(roleName);
      const role = (await iam.send(new GetRoleCommand({ RoleName: roleName }))).Role!;
      expect(policyJson(role.AssumeRolePolicyDocument)).toEqual({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'BerthOidc',
            Effect: 'Allow',
            Principal: { Federated: provider },
            Action: 'sts:AssumeRoleWithWebIdentity',
            Condition: {
              StringEquals: { 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com' },
              StringLike: { 'token.actions.githubusercontent.com:sub': 'repo:acme/berth-deploy:ref:refs/heads/main' },
            },
          },
        ],
      });

      const policies = await inlinePolicies(roleName);
      expect(Object.keys(policies).sort()).toEqual(['berth-control', 'berth-control-schedules', 'berth-control-services']);
      const features = { services: true, eventBridgeSchedules: true };
      // The stack role of the services feature is the one this stack created.
      expect(outputs.ServiceStackRoleArn).toBe((await iam.send(new GetRoleCommand({ RoleName: resources.ServiceStackRole! }))).Role!.Arn);
      const withStackRole = { ...bindings(), ServiceStackRoleArn: outputs.ServiceStackRoleArn };
      for (const [name, document] of Object.entries(policies)) {
        expect(checkControlRolePolicy(document, { bindings: withStackRole, features }).excess, name).toEqual([]);
      }
      const all = { Statement: Object.values(policies).flatMap((p) => p.Statement) };
      expect(checkControlRolePolicy(all, { bindings: withStackRole, features }).missing).toEqual([]);
      // No task role given: PassRole names the execution role alone.
      const passRole = (policies['berth-control'].Statement as Cfn[]).find((s) => s.Sid === 'PassTaskRolesToEcsTasks');
      expect(passRole.Resource).toEqual([EXECUTION]);
      // The EventBridge role goes to EventBridge only, and only with the schedules feature.
      const passEvents = (policies['berth-control-schedules'].Statement as Cfn[]).find((s) => s.Sid === 'PassEventBridgeRoleToEvents');
      expect(passEvents).toMatchObject({
        Action: 'iam:PassRole',
        Resource: EVENTS_ROLE,
        Condition: { StringEquals: { 'iam:PassedToService': 'events.amazonaws.com' } },
      });
      const schedulesOff = checkControlRolePolicy(policies['berth-control-schedules'], { bindings: bindings(), features: {} });
      expect(schedulesOff.excess.some((e) => e.includes('iam:PassRole'))).toBe(true);
    });

    it('with the features off, their permissions are absent and would count as excess', async () => {
      const { resources } = await deploy('control-off', 'control-role.yaml', {
        TrustedPrincipal: '111122223333',
        ExternalId: 'berth-ext-0b9d',
        ClusterName: 'berth-test',
        ExecutionRoleArn: EXECUTION,
      });
      const policies = await inlinePolicies(resources.ControlRole!);
      expect(Object.keys(policies)).toEqual(['berth-control']);
      const actions = (policies['berth-control'].Statement as Cfn[]).flatMap((s) => [s.Action].flat());
      expect(actions.filter((a: string) => /Service|^events:/.test(a))).toEqual([]);
      expect(resources.ServicesPolicy).toBeUndefined();
      expect(resources.SchedulesPolicy).toBeUndefined();
    });
  });
});
