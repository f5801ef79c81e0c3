/**
 * What already exists in the account, for the wizard's menus: ECS clusters, VPCs with their
 * subnets and security groups, availability zones, log groups. Read-only Describe/List calls.
 */
import { DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeAvailabilityZonesCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcAttributeCommand,
  DescribeVpcsCommand,
} from '@aws-sdk/client-ec2';
import type { Tag } from '@aws-sdk/client-ec2';
import { DescribeClustersCommand, ListClustersCommand } from '@aws-sdk/client-ecs';
import { awsCall } from './aws-session.js';
import type { AwsSession } from './aws-session.js';

export interface ClusterInfo {
  name: string;
  arn: string;
  status: string;
  runningTasks: number;
  /** The CloudFormation stack that created it, if any (its aws:cloudformation:stack-name tag). */
  stack: string | null;
}

export interface VpcInfo {
  id: string;
  cidr: string;
  name: string | null;
  isDefault: boolean;
  /** The CloudFormation stack that created it, if any. */
  stack: string | null;
}

export interface SubnetInfo {
  id: string;
  zone: string;
  cidr: string;
  name: string | null;
  /** Has a default route to an internet gateway (through its own or the VPC's main route table). */
  public: boolean;
  freeAddresses: number;
}

export interface SecurityGroupInfo {
  id: string;
  name: string;
  description: string;
  inboundRules: number;
}

const tag = (tags: Tag[] | undefined, key: string): string | null => tags?.find((t) => t.Key === key)?.Value ?? null;

/** ACTIVE ECS clusters, by name. */
export async function listClusters(aws: AwsSession): Promise<ClusterInfo[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await awsCall('ecs:ListClusters', () => aws.ecs.send(new ListClustersCommand({ ...(nextToken ? { nextToken } : {}) })));
    arns.push(...(page.clusterArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  const out: ClusterInfo[] = [];
  for (let i = 0; i < arns.length; i += 100) {
    const batch = arns.slice(i, i + 100);
    const described = await awsCall('ecs:DescribeClusters', () => aws.ecs.send(new DescribeClustersCommand({ clusters: batch, include: ['TAGS'] })));
    for (const c of described.clusters ?? []) {
      if (!c.clusterName || !c.clusterArn || c.status !== 'ACTIVE') continue;
      out.push({
        name: c.clusterName,
        arn: c.clusterArn,
        status: c.status,
        runningTasks: c.runningTasksCount ?? 0,
        stack: c.tags?.find((t) => t.key === 'aws:cloudformation:stack-name')?.value ?? null,
      });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export async function listVpcs(aws: AwsSession): Promise<VpcInfo[]> {
  const out: VpcInfo[] = [];
  let NextToken: string | undefined;
  do {
    const page = await awsCall('ec2:DescribeVpcs', () => aws.ec2.send(new DescribeVpcsCommand({ ...(NextToken ? { NextToken } : {}) })));
    for (const v of page.Vpcs ?? []) {
      if (!v.VpcId || v.State === 'pending') continue;
      out.push({
        id: v.VpcId,
        cidr: v.CidrBlock ?? '-',
        name: tag(v.Tags, 'Name'),
        isDefault: v.IsDefault === true,
        stack: tag(v.Tags, 'aws:cloudformation:stack-name'),
      });
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return out;
}

export async function listSubnets(aws: AwsSession, vpcId: string): Promise<SubnetInfo[]> {
  const filter = [{ Name: 'vpc-id', Values: [vpcId] }];
  const [subnets, tables] = await Promise.all([
    awsCall('ec2:DescribeSubnets', () => aws.ec2.send(new DescribeSubnetsCommand({ Filters: filter }))),
    awsCall('ec2:DescribeRouteTables', () => aws.ec2.send(new DescribeRouteTablesCommand({ Filters: filter }))),
  ]);
  const toInternet = (table: { Routes?: { DestinationCidrBlock?: string; GatewayId?: string }[] } | undefined) =>
    (table?.Routes ?? []).some((r) => r.DestinationCidrBlock === '0.0.0.0/0' && (r.GatewayId ?? '').startsWith('igw-'));
  const main = (tables.RouteTables ?? []).find((t) => (t.Associations ?? []).some((a) => a.Main === true));
  return (subnets.Subnets ?? [])
    .filter((s): s is typeof s & { SubnetId: string } => typeof s.SubnetId === 'string')
    .map((s) => {
      const own = (tables.RouteTables ?? []).find((t) => (t.Associations ?? []).some((a) => a.SubnetId === s.SubnetId));
      return {
        id: s.SubnetId,
        zone: s.AvailabilityZone ?? '-',
        cidr: s.CidrBlock ?? '-',
        name: tag(s.Tags, 'Name'),
        public: toInternet(own ?? main),
        freeAddresses: s.AvailableIpAddressCount ?? 0,
      };
    })
    .sort((a, b) => a.zone.localeCompare(b.zone) || a.cidr.localeCompare(b.cidr));
}

export async function listSecurityGroups(aws: AwsSession, vpcId: string): Promise<SecurityGroupInfo[]> {
  const page = await awsCall('ec2:DescribeSecurityGroups', () =>
    aws.ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] })),
  );
  return (page.SecurityGroups ?? [])
    .filter((g): g is typeof g & { GroupId: string } => typeof g.GroupId === 'string')
    .map((g) => ({ id: g.GroupId, name: g.GroupName ?? '-', description: g.Description ?? '', inboundRules: g.IpPermissions?.length ?? 0 }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Zones (not Local or Wavelength zones) that are available, by name. */
export async function listAvailabilityZones(aws: AwsSession): Promise<string[]> {
  const page = await awsCall('ec2:DescribeAvailabilityZones', () => aws.ec2.send(new DescribeAvailabilityZonesCommand({})));
  return (page.AvailabilityZones ?? [])
    .filter((z) => z.State === 'available' && (z.ZoneType === undefined || z.ZoneType === 'availability-zone') && z.ZoneName)
    .map((z) => z.ZoneName!)
    .sort();
}

/** Whether the VPC resolves DNS and gives DNS hostnames (interface endpoints and ECR need both). */
export async function vpcDns(aws: AwsSession, vpcId: string): Promise<{ support: boolean; hostnames: boolean }> {
  const [support, hostnames] = await Promise.all([
    awsCall('ec2:DescribeVpcAttribute', () => aws.ec2.send(new DescribeVpcAttributeCommand({ VpcId: vpcId, Attribute: 'enableDnsSupport' }))),
    awsCall('ec2:DescribeVpcAttribute', () => aws.ec2.send(new DescribeVpcAttributeCommand({ VpcId: vpcId, Attribute: 'enableDnsHostnames' }))),
  ]);
  return { support: support.EnableDnsSupport?.Value === true, hostnames: hostnames.EnableDnsHostnames?.Value === true };
}

/** Whether a log group of exactly this name exists. */
export async function logGroupExists(aws: AwsSession, name: string): Promise<boolean> {
  const page = await awsCall('logs:DescribeLogGroups', () => aws.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: name, limit: 50 })));
  return (page.logGroups ?? []).some((g) => g.logGroupName === name);
}
