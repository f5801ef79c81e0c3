/**
 * AWS facts Berth validates against before any AWS call: identifier shapes and the valid Fargate
 * cpu/memory combinations (from AWS's documentation; see shared/docs/aws-facts.md).
 */
import { z } from 'zod';

export const REGION_PATTERN = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d{1,2}$/;
export const SUBNET_PATTERN = /^subnet-([0-9a-f]{8}|[0-9a-f]{17})$/;
export const SECURITY_GROUP_PATTERN = /^sg-([0-9a-f]{8}|[0-9a-f]{17})$/;
export const ROLE_ARN_PATTERN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
export const CLUSTER_ARN_PATTERN = /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:cluster\/[A-Za-z0-9_-]{1,255}$/;
export const CLUSTER_NAME_PATTERN = /^[A-Za-z0-9_-]{1,255}$/;

export const Region = z
  .string()
  .regex(REGION_PATTERN, { message: 'must be an AWS region code such as us-east-1 or eu-west-2' });

export const SubnetId = z
  .string()
  .regex(SUBNET_PATTERN, { message: 'must be a subnet id such as subnet-0123456789abcdef0 (subnet- and 8 or 17 hex digits)' });

export const SecurityGroupId = z
  .string()
  .regex(SECURITY_GROUP_PATTERN, { message: 'must be a security group id such as sg-0123456789abcdef0 (sg- and 8 or 17 hex digits)' });

export const RoleArn = z
  .string()
  .regex(ROLE_ARN_PATTERN, { message: 'must be an IAM role ARN such as arn:aws:iam::123456789012:role/berth-task-execution' });

export const ClusterRef = z
  .string()
  .refine((v) => CLUSTER_NAME_PATTERN.test(v) || CLUSTER_ARN_PATTERN.test(v), {
    message: 'must be an ECS cluster name (letters, digits, "-", "_") or a cluster ARN (arn:aws:ecs:REGION:ACCOUNT:cluster/NAME)',
  });

/** The cluster's name, from a name or an ARN. */
export function clusterName(ref: string): string {
  return CLUSTER_ARN_PATTERN.test(ref) ? ref.slice(ref.lastIndexOf('/') + 1) : ref;
}

/** Valid Fargate (Linux) task sizes: cpu units → allowed memory in MiB. */
const FARGATE_MEMORY: ReadonlyArray<{ cpu: number; min: number; max: number; step: number; extra?: number[]; platform14?: boolean }> = [
  { cpu: 256, min: 512, max: 512, step: 1, extra: [1024, 2048] },
  { cpu: 512, min: 1024, max: 4096, step: 1024 },
  { cpu: 1024, min: 2048, max: 8192, step: 1024 },
  { cpu: 2048, min: 4096, max: 16384, step: 1024 },
  { cpu: 4096, min: 8192, max: 30720, step: 1024 },
  { cpu: 8192, min: 16384, max: 61440, step: 4096, platform14: true },
  { cpu: 16384, min: 32768, max: 122880, step: 8192, platform14: true },
];

/** The memory values Fargate accepts for `cpu`, or null when `cpu` itself is not a Fargate size. */
export function fargateMemoryOptions(cpu: number): number[] | null {
  const row = FARGATE_MEMORY.find((r) => r.cpu === cpu);
  if (!row) return null;
  const out: number[] = [];
  for (let m = row.min; m <= row.max; m += row.step) out.push(m);
  return [...out, ...(row.extra ?? [])].sort((a, b) => a - b);
}

/**
 * Checks a Fargate cpu/memory pair; returns null when valid, else a message that says what to
 * change (the valid cpu values, or the memory values for that cpu).
 */
export function checkFargateSize(cpu: number, memory: number, platformVersion?: string | null): string | null {
  const options = fargateMemoryOptions(cpu);
  if (!options) {
    return `cpu ${cpu} is not a Fargate size; use one of ${FARGATE_MEMORY.map((r) => r.cpu).join(', ')} (1024 = 1 vCPU)`;
  }
  if (!options.includes(memory)) {
    const shown = options.length > 8 ? `${options[0]} to ${options[options.length - 1]} in steps of ${options[1]! - options[0]!}` : options.join(', ');
    return `memory ${memory} MiB does not go with cpu ${cpu} on Fargate; with cpu ${cpu} use ${shown} MiB`;
  }
  const row = FARGATE_MEMORY.find((r) => r.cpu === cpu)!;
  if (row.platform14 && platformVersion && platformVersion !== 'LATEST' && compareVersions(platformVersion, '1.4.0') < 0) {
    return `cpu ${cpu} needs Fargate platform version 1.4.0 or later (platform_version is ${platformVersion})`;
  }
  return null;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** ECS tag rules: at most 50 per resource, keys ≤ 128 and values ≤ 256 characters, no `aws:` prefix. */
export const AwsTags = z
  .record(
    z
      .string()
      .min(1)
      .max(128, { message: 'tag keys are at most 128 characters' })
      .refine((k) => !k.toLowerCase().startsWith('aws:'), { message: 'tag keys may not start with "aws:" (reserved by AWS)' }),
    z.string().max(256, { message: 'tag values are at most 256 characters' }),
  )
  .refine((tags) => Object.keys(tags).length <= 40, {
    message: 'at most 40 tags: ECS allows 50 per resource and Berth adds its own',
  })
  .describe('Tags applied to everything Berth creates in AWS for this Run Environment: key → value.');
