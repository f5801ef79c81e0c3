/**
 * The answers of `berth setup aws`: every question has a key, and the same key names the answer
 * in an answers file (`--answers FILE`), in `--set KEY=VALUE`, and in the saved state file.
 * Whatever the source, an answer goes through the same parser as a typed one, so a bad value in a
 * file gets the same message as a bad value at the prompt.
 */
import fs from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { UsageError } from '../errors.js';

/** Every answer key, with what it means (used in messages and in docs/aws-setup.md). */
export const ANSWER_KEYS = {
  run_environment: 'Name of the Run Environment; also names the stacks (berth-<name>-network, -cluster, -control-role) and the state file.',
  region: 'AWS region, e.g. eu-west-1.',
  profile: 'Named AWS profile from ~/.aws/config; empty: the default credential chain.',
  endpoint_url: 'Send every AWS call here instead of AWS (testing against a stand-in such as moto); also set as the Run Environment\'s endpoint_url.',
  cluster: 'create (the cluster stack creates an ECS cluster) or existing (use cluster_name as it is).',
  cluster_name: 'Name of the cluster to create, or of the existing cluster.',
  network: 'create (the network stack creates a VPC) or existing (use vpc, subnets and security_groups).',
  vpc: 'With network: existing — the VPC id.',
  subnets: 'With network: existing — subnet ids of that VPC for the tasks (a list).',
  security_groups: 'With network: existing — 1 to 5 security group ids of that VPC (a list).',
  assign_public_ip: 'Give tasks a public IP (true/false); needed in public subnets without NAT.',
  availability_zones: 'With network: create — 2 or 3 availability zone names (a list).',
  nat_gateways: 'With network: create — None, Single or PerZone.',
  s3_endpoint: 'With network: create — S3 gateway endpoint (true/false).',
  interface_endpoints: 'With network: create — interface endpoints for ECR, CloudWatch Logs and Secrets Manager (true/false).',
  trusted_principal: 'Who may assume the control role: a 12-digit account id or an IAM role/user ARN (the identity berth server runs as).',
  log_group: 'CloudWatch log group of the tasks (created by the cluster stack).',
  log_retention_days: 'Days CloudWatch keeps task output.',
  secret_name_prefix: 'ECS may read only secrets and SSM parameters whose names start with this.',
  container_insights: 'disabled, enabled or enhanced (for a cluster the stack creates).',
  task_definition_prefix: 'Task definition family prefix of the Run Environment.',
  services: 'Let the control role manage ECS services (true/false).',
  eventbridge_schedules: 'Let the control role manage EventBridge schedule rules (true/false).',
} as const;

export type AnswerKey = keyof typeof ANSWER_KEYS;

export function isAnswerKey(key: string): key is AnswerKey {
  return Object.hasOwn(ANSWER_KEYS, key);
}

/** An answer as text, and where it came from (for messages). */
export interface GivenAnswer {
  text: string;
  source: string;
}

/**
 * Answers given before the wizard asks anything, in layers: the first layer that has a key wins
 * (flags, then the answers file, then the saved state).
 */
export class GivenAnswers {
  private readonly layers: { source: string; values: Partial<Record<AnswerKey, string>> }[] = [];

  add(source: string, values: Partial<Record<AnswerKey, string>>): void {
    this.layers.push({ source, values });
  }

  get(key: AnswerKey): GivenAnswer | undefined {
    for (const layer of this.layers) {
      const text = layer.values[key];
      if (text !== undefined) return { text, source: layer.source };
    }
    return undefined;
  }

  /** Forgets a key in every layer (after its value was found invalid and asked again). */
  drop(key: AnswerKey): void {
    for (const layer of this.layers) delete layer.values[key];
  }
}

/** A value from YAML/JSON as answer text: lists comma-separated, booleans and numbers as written. */
export function answerText(value: unknown, where: string): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.map((v) => answerText(v, where)).join(',');
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new UsageError(`${where}: must be a string, number, boolean or list, not ${JSON.stringify(value)}`);
}

/** Reads an answers file (YAML or JSON, one mapping of answer keys); unknown keys are errors. */
export function readAnswersFile(file: string): Partial<Record<AnswerKey, string>> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the answers file ${file}: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new UsageError(`${file} is not valid YAML or JSON: ${(error as Error).message.split('\n')[0]}`);
  }
  if (raw === null || raw === undefined) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new UsageError(`${file} must hold one mapping of answers (key: value)`);
  const out: Partial<Record<AnswerKey, string>> = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (!isAnswerKey(key)) {
      throw new UsageError(`${file}: unknown answer "${key}"; the answers are: ${Object.keys(ANSWER_KEYS).join(', ')} (see docs/aws-setup.md)`);
    }
    out[key] = answerText(value, `${file}: ${key}`);
  }
  return out;
}

/** Parses one `--set KEY=VALUE` into the map of earlier ones. */
export function parseSetOption(raw: string, previous: Partial<Record<AnswerKey, string>> = {}): Partial<Record<AnswerKey, string>> {
  const eq = raw.indexOf('=');
  const key = eq < 0 ? raw : raw.slice(0, eq);
  if (eq < 0 || !isAnswerKey(key)) {
    throw new UsageError(`--set ${raw}: expected KEY=VALUE with KEY one of ${Object.keys(ANSWER_KEYS).join(', ')}`);
  }
  return { ...previous, [key]: raw.slice(eq + 1).trim() };
}
