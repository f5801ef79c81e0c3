import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { registerApply } from './commands/apply.js';
import { registerAws } from './commands/aws.js';
import { registerEvents } from './commands/events.js';
import { registerExecutions } from './commands/executions.js';
import { registerKeys } from './commands/keys.js';
import { registerLogs } from './commands/logs.js';
import { registerNotificationProfiles } from './commands/notification-profiles.js';
import { registerNotify } from './commands/notify.js';
import { registerRun } from './commands/run.js';
import { registerRunEnvironments } from './commands/run-environments.js';
import { registerSchedule } from './commands/schedule.js';
import { registerServer } from './commands/server.js';
import { registerSetup } from './commands/setup-aws.js';
import { registerServices } from './commands/services.js';
import { registerStop } from './commands/stop.js';
import { registerTasks } from './commands/tasks.js';
import { registerVerify } from './commands/verify.js';
import { registerRunWorkflow } from './commands/run-workflow.js';
import { registerWorkflowExecutions } from './commands/workflow-executions.js';
import { registerWorkflows } from './commands/workflows.js';
import { CliError, EXIT, ExitRequest } from './errors.js';

export const CLI_VERSION = '0.1.0';

/** The `berth` program with every command registered. */
export function buildProgram(): Command {
  const program = new Command('berth');
  program
    .description('Berth: start, watch and stop Tasks. Talks to a Berth server over its HTTP API.')
    .version(CLI_VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .helpCommand('help [command]', 'show help for a command')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text) })
    .showSuggestionAfterError(true)
    .allowExcessArguments(false);
  program.addHelpText(
    'after',
    `
Where the server is: --url, else BERTH_URL, else the config file, else http://127.0.0.1:7878.
The API key: BERTH_API_KEY, else the config file ($BERTH_CONFIG, else
$XDG_CONFIG_HOME/berth/config.yaml or ~/.config/berth/config.yaml, with url: and api_key:).

Exit codes: 0 ok, 1 failure (API error, task failed), 2 usage error; berth run --wait exits with
the task's own code.

Examples:
  $ berth server                       # start a server; prints the admin key on the first start
  $ berth apply -f berth.yaml          # create or update Run Environments and Tasks
  $ berth run hello --follow           # start a Task and stream its output
  $ berth executions ls --status FAILED
  $ berth executions show <uuid>       # status, attempts; the ECS task, logs and console link
  $ berth logs <execution-uuid> -f
  $ berth run-workflow nightly --wait  # start a Workflow; exit 0 if it succeeded
  $ berth workflow-executions show <uuid>  # the graph with each node's state
  $ berth events ls --since 24h        # missed scheduled runs, missing heartbeats, failed starts
  $ berth schedule preview "TZ=Europe/Paris 0 3 * * *"  # the next fire times (offline)
  $ berth tasks prune-revisions etl    # deregister old ECS task definitions (aws-ecs)
  $ berth setup aws                    # create or reuse network, cluster and roles; register the Run Environment
  $ berth verify prod --task etl       # check the AWS setup before the first run (aws-ecs)`,
  );
  registerServer(program);
  registerApply(program);
  registerTasks(program);
  registerRunEnvironments(program);
  registerRun(program);
  registerExecutions(program);
  registerLogs(program);
  registerStop(program);
  registerWorkflows(program);
  registerRunWorkflow(program);
  registerWorkflowExecutions(program);
  registerServices(program);
  registerEvents(program);
  registerNotificationProfiles(program);
  registerNotify(program);
  registerSchedule(program);
  registerKeys(program);
  registerSetup(program);
  registerAws(program);
  registerVerify(program);
  return program;
}

function printError(error: CliError): void {
  // API errors name their code (docs/errors.md lists them all).
  const code = error.status !== undefined && error.code ? ` [${error.code}]` : '';
  const lines = [`error: ${error.message}${code}`, ...error.issues.map((i) => `  ${i.path ? `${i.path}: ` : ''}${i.message}`)];
  process.stderr.write(`${lines.join('\n')}\n`);
}

/** Runs the CLI and resolves to its exit code. `argv` is `process.argv` (node, script, args…). */
export async function main(argv: readonly string[]): Promise<number> {
  // The pinned AWS SDK supports Node 20; its notice about future releases needing Node 22 is
  // for whoever upgrades it (releases after January 2027 need Node 22), not for every user.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const program = buildProgram();
  const debug = process.env.BERTH_DEBUG === '1';
  try {
    await program.parseAsync([...argv]);
    return EXIT.OK;
  } catch (error) {
    if (error instanceof ExitRequest) return error.exitCode;
    if (error instanceof CommanderError) {
      // Help and version are not errors; everything else commander reports is a usage error.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.OK;
      if (error.code === 'commander.help') return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
      return EXIT.USAGE;
    }
    if (error instanceof CliError) {
      printError(error);
      if (debug && error.stack) process.stderr.write(`${error.stack}\n`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`error: ${message}\n`);
    if (debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    else process.stderr.write('(set BERTH_DEBUG=1 for details)\n');
    return EXIT.FAILURE;
  }
}

/** True when this file is the program node started (not imported by bin/berth.js or tests). */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return import.meta.url === pathToFileURL(fs.realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  process.exitCode = await main(process.argv);
}
