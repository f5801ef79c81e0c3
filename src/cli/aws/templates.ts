/**
 * The CloudFormation templates of `infra/cloudformation/`, as the CLI ships them. They are read
 * from the repository (or the installed package) relative to this module, which sits at
 * `src/cli/aws/` under tsx and at `dist/cli/aws/` once built: both are three levels below the
 * root.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError } from '../errors.js';

export const TEMPLATE_NAMES = ['network.yaml', 'cluster.yaml', 'control-role.yaml'] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];

export interface TemplateInfo {
  name: TemplateName;
  /** One line for `berth aws templates`. */
  description: string;
  /** What CreateStack needs to be allowed (`--capabilities`). */
  capabilities: string[];
}

export const TEMPLATES: readonly TemplateInfo[] = [
  {
    name: 'network.yaml',
    description: 'VPC, public and private subnets in 2 or 3 named zones, NAT gateways, VPC endpoints, a task security group',
    capabilities: [],
  },
  {
    name: 'cluster.yaml',
    description: 'ECS cluster for Fargate (or your existing one), task execution role, default task role, log group',
    capabilities: ['CAPABILITY_NAMED_IAM'],
  },
  {
    name: 'control-role.yaml',
    description: 'the control role Berth assumes (External ID or OIDC trust), least-privilege permissions',
    capabilities: ['CAPABILITY_NAMED_IAM'],
  },
];

/** The directory that holds the templates. */
export function templateDirectory(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'infra', 'cloudformation');
}

/** A template's text, exactly as in the repository. */
export function templateText(name: TemplateName): string {
  const file = path.join(templateDirectory(), name);
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read the CloudFormation template ${file}: ${(error as Error).message} (is Berth installed completely?)`, {
      cause: error,
    });
  }
}
