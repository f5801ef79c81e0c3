import type { Command } from 'commander';
import { parseSetOption } from '../aws/answers.js';
import { runSetupAws } from '../aws/setup-wizard.js';
import type { SetupFlags } from '../aws/setup-wizard.js';

/** `berth setup aws`: the setup wizard (src/cli/aws/setup-wizard.ts; docs/aws-setup.md). */
export function registerSetup(program: Command): void {
  const setup = program
    .command('setup')
    .summary('set up where Tasks run (berth setup aws)')
    .description('Guided setup of a place for Tasks to run. `berth setup aws` prepares an AWS account for ECS Fargate.');
  setup.addHelpText('after', '\nExamples:\n  $ berth setup aws\n  $ berth setup aws --answers setup.yaml --yes');

  const aws = setup
    .command('aws')
    .summary('create (or reuse) network, cluster and roles in AWS and register an aws-ecs Run Environment')
    .description(
      'The setup wizard for ECS Fargate. It asks for the region and credentials, an ECS cluster (yours or a new ' +
        'one), the network (your VPC, subnets and security groups, or a new VPC), and who may assume the control ' +
        'role; shows the plan; then deploys the CloudFormation stacks (berth-<name>-network, -cluster, ' +
        '-control-role), registers the Run Environment in Berth and verifies it. On a terminal it asks; otherwise ' +
        'the answers come from --answers and the flags. Re-running it changes only what differs; an interrupted ' +
        'run continues from its saved state, which holds no secrets.',
    )
    .option('--run-env <name>', 'name of the Run Environment (also names the stacks and the state file)')
    .option('--region <region>', 'AWS region, e.g. eu-west-1')
    .option('--profile <profile>', 'named AWS profile (default: the default credential chain)')
    .option('--answers <file>', 'answers file (YAML or JSON; keys in docs/aws-setup.md)')
    .option('--set <key=value>', 'one answer, e.g. --set network=create (repeatable; wins over --answers)', (raw, previous) =>
      parseSetOption(raw, previous as Parameters<typeof parseSetOption>[1]),
    )
    .option('--state <file>', 'state file (default: ~/.config/berth/setup-aws-<run-env>.json)')
    .option('-y, --yes', 'do not ask for confirmation before creating or changing anything')
    .option('--dry-run', 'show the plan and every stack parameter; create and change nothing')
    .option('--non-interactive', 'never prompt, even on a terminal: a missing answer is an error')
    .option('--endpoint-url <url>', 'send every AWS call here (for testing against a stand-in such as moto); also the Run Environment\'s endpoint_url')
    .option('--json', 'print the result (or with --dry-run the plan) as JSON on stdout')
    .option('--url <url>', 'Berth server URL (default: $BERTH_URL, else the config file, else http://127.0.0.1:7878)');
  aws.addHelpText(
    'after',
    `
Steps: name → region → credentials → cluster → network → control role trust → plan and
confirmation → network stack → cluster stack → Run Environment in Berth (with role_arn and a
generated External ID) → control-role stack → verify.

Exit codes: 0 done (or nothing to do), 1 AWS or Berth refused something / you declined, 2 a
missing or invalid answer, 130 interrupted (run the same command again to continue).

Examples:
  $ berth setup aws                                   # asks everything
  $ berth setup aws --run-env prod --region eu-west-1 --dry-run
  $ berth setup aws --answers setup.yaml --yes        # non-interactive
  $ berth setup aws --run-env prod --yes              # re-run / continue with the saved answers`,
  );
  aws.action(async (flags: SetupFlags) => {
    await runSetupAws(flags);
  });
}
