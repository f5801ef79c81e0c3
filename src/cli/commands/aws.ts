import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { controlRolePolicy, controlRolePolicyInput } from '../../domain/control-role-policy.js';
import { BerthError } from '../../domain/errors.js';
import type { RunEnvironment } from '../../domain/run-environment.js';
import { TEMPLATES, templateDirectory, templateText } from '../aws/templates.js';
import { seg } from '../client.js';
import { contextFor } from '../common.js';
import type { CommonFlags } from '../common.js';
import { CliError, UsageError } from '../errors.js';
import { Output } from '../output.js';

interface TemplatesFlags {
  out?: string;
  force?: boolean;
  json?: boolean;
}

interface IamPolicyFlags extends CommonFlags {
  runEnv: string;
  accountId?: string;
  services?: boolean;
  eventbridge?: boolean;
  secretPrefix?: string;
}

/** `berth aws templates [--out DIR]`: list the CloudFormation templates, or write them out. */
function registerTemplates(aws: Command): void {
  const command = aws
    .command('templates')
    .summary('list or write out the CloudFormation templates')
    .description(
      'List the CloudFormation templates the setup wizard deploys (network, cluster, control role), or write ' +
        'them to a directory to read, review or deploy them yourself. Existing files are not overwritten ' +
        'unless --force is given.',
    )
    .option('--out <dir>', 'write the three templates to this directory (created if missing)')
    .option('--force', 'overwrite files that exist in --out')
    .option('--json', 'print the list (or the files written) as JSON');
  command.addHelpText(
    'after',
    `
Examples:
  $ berth aws templates
  $ berth aws templates --out ./infra
  $ berth aws templates --out ./infra --force

What each template takes and creates: docs/cloudformation.md.`,
  );
  command.action((flags: TemplatesFlags) => {
    const out = new Output(flags.json === true);
    if (flags.out === undefined) {
      if (out.json) {
        return out.printJson(TEMPLATES.map((t) => ({ ...t, path: path.join(templateDirectory(), t.name) })));
      }
      out.table(
        [{ header: 'TEMPLATE' }, { header: 'CAPABILITIES' }, { header: 'CREATES' }],
        TEMPLATES.map((t) => [t.name, t.capabilities.join(',') || '-', t.description]),
      );
      out.note(out.paintErr('dim', `From ${templateDirectory()}. Write them out: berth aws templates --out DIR`));
      return;
    }
    if (flags.out.trim() === '') throw new UsageError('--out needs a directory');
    const dir = path.resolve(flags.out);
    if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw new CliError(`${dir} exists and is not a directory`);
    const targets = TEMPLATES.map((t) => ({ name: t.name, file: path.join(dir, t.name), text: templateText(t.name) }));
    const existing = targets.filter((t) => fs.existsSync(t.file));
    if (existing.length > 0 && flags.force !== true) {
      throw new CliError(
        `${existing.map((t) => t.file).join(', ')} already ${existing.length === 1 ? 'exists' : 'exist'}; nothing was written. ` +
          'Use --force to overwrite, or another --out directory.',
      );
    }
    fs.mkdirSync(dir, { recursive: true });
    for (const t of targets) fs.writeFileSync(t.file, t.text);
    if (out.json) return out.printJson(targets.map((t) => ({ name: t.name, path: t.file })));
    for (const t of targets) out.line(`wrote ${t.file}`);
  });
}

/** `berth aws iam-policy --run-env NAME`: the control role's least-privilege policy for one Run Environment. */
function registerIamPolicy(aws: Command): void {
  const command = aws
    .command('iam-policy')
    .summary("print the control role's minimal IAM policy for a Run Environment")
    .description(
      'Print the least-privilege IAM policy (JSON) of the control role for one aws-ecs Run Environment, as it ' +
        'is configured in Berth: its region, cluster, task definition prefix, roles and log group. Attach it as ' +
        'the inline policy of the role Berth assumes (control-role.yaml grants the same).',
    )
    .requiredOption('--run-env <name>', 'the aws-ecs Run Environment (name or uuid)')
    .option('--account-id <id>', "the 12-digit account (default: the cluster ARN's, else the execution role's)")
    .option('--services', 'include the grants for Tasks that run as ECS services')
    .option('--eventbridge', 'include the grants for schedules kept as EventBridge rules')
    .option('--secret-prefix <prefix>', 'Secrets Manager names verify may look up (cluster.yaml SecretNamePrefix)', 'berth/')
    .option('--url <url>', 'Berth server URL (default: $BERTH_URL, else the config file, else http://127.0.0.1:7878)');
  command.addHelpText(
    'after',
    `
The policy goes to stdout as JSON (there is no other output, so --json is implied).

Examples:
  $ berth aws iam-policy --run-env prod
  $ berth aws iam-policy --run-env prod --services > berth-control.json
  $ aws iam put-role-policy --role-name berth-control --policy-name berth-control \\
      --policy-document "$(berth aws iam-policy --run-env prod)"`,
  );
  command.action(async (flags: IamPolicyFlags) => {
    const { client, out } = contextFor({ ...flags, json: true });
    const env = await client.get<RunEnvironment>(`/api/v1/run_environments/${seg(flags.runEnv)}`);
    if (env.kind !== 'aws-ecs') {
      throw new CliError(
        `Run Environment "${env.name}" is ${env.kind}: its Tasks run as processes on the Berth host and Berth assumes no AWS role for it. ` +
          'The control role policy is for aws-ecs Run Environments.',
      );
    }
    try {
      const input = controlRolePolicyInput(env, {
        ...(flags.accountId !== undefined ? { accountId: flags.accountId } : {}),
        features: { services: flags.services === true, eventBridgeSchedules: flags.eventbridge === true },
        ...(flags.secretPrefix !== undefined ? { secretNamePrefix: flags.secretPrefix } : {}),
      });
      out.printJson(controlRolePolicy(input));
    } catch (error) {
      // The Run Environment's values do not make a valid policy (e.g. --account-id is not 12 digits).
      if (error instanceof BerthError) throw new CliError(error.message, { code: error.code });
      throw error;
    }
  });
}

export function registerAws(program: Command): void {
  const aws = program
    .command('aws')
    .summary('AWS helpers: CloudFormation templates, the control role policy')
    .description('Helpers for running Tasks on ECS Fargate. The setup wizard is `berth setup aws`.');
  aws.addHelpText('after', '\nExamples:\n  $ berth aws templates --out ./infra\n  $ berth aws iam-policy --run-env prod');
  registerTemplates(aws);
  registerIamPolicy(aws);
}
