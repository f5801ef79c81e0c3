import type { Command } from 'commander';
import { fileIssues, fromTaskDefinitionFile, prepareBerthYaml, printChanges, readBerthYaml } from '../berth-yaml.js';
import type { ApplyResult } from '../berth-yaml.js';
import type { ApiClient } from '../client.js';
import { CliError, ExitRequest } from '../errors.js';
import type { Output } from '../output.js';
import { printSteps, waitForService, withWaitOptions } from './services.js';
import { contextFor, withCommonOptions } from '../common.js';
import type { CommonFlags } from '../common.js';
import { baseDirectoryOf } from '../task-definition-file.js';

interface ApplyFlags extends CommonFlags {
  file: string;
  dryRun?: boolean;
  wait?: boolean;
  timeout: number;
  pollInterval: number;
}

export function registerApply(program: Command): void {
  const command = program
    .command('apply')
    .summary('create or update Run Environments, Tasks and Workflows from a berth.yaml file')
    .description(
      'Create or update the Run Environments, Tasks and Workflows of a berth.yaml file, all in one transaction. ' +
        'The file is validated first (here, then by the server); an invalid file changes nothing. ' +
        'Objects that are not in the file are left alone.',
    )
    .requiredOption('-f, --file <file>', 'the berth.yaml file ("-" reads standard input)')
    .option('--dry-run', 'show what would change without writing anything (Services: what their deploy would do)');
  withWaitOptions(command);
  withCommonOptions(command);
  command.addHelpText(
    'after',
    `
Output: one line per object — "+" created, "~" updated (with "field: before → after" lines),
"=" unchanged — then a summary.

A Task's task_definition_file: is read here and sent as task_definition (a JSON ECS task
definition). Its path is relative to the berth.yaml's directory (to the working directory with
-f -); absolute paths are used as they are.

Services (Tasks with service: settings) that were created or changed, or never deployed, are
deployed after the rest is applied, and apply waits until ECS reports each one stable (--no-wait
to return at once); a failed deploy is printed with its reason and apply exits 1 (the Tasks stay
saved; fix and apply again, or berth services deploy NAME).

Examples:
  $ berth apply -f berth.yaml
  $ berth apply -f berth.yaml --dry-run
  $ berth apply -f deploy/berth.yaml    # task_definition_file: etl.json means deploy/etl.json
  $ berth apply -f berth.yaml --json`,
  );
  command.action(async (flags: ApplyFlags) => {
    const { document, sources } = prepareBerthYaml(flags.file, readBerthYaml(flags.file), baseDirectoryOf(flags.file));
    const { client, out } = contextFor(flags);
    let result: ApplyResult;
    const since = Date.now();
    try {
      result = await client.post<ApplyResult>('/api/v1/apply', { document, dry_run: flags.dryRun === true });
    } catch (error) {
      if (error instanceof CliError && error.code === 'CONFIG_INVALID') {
        throw new CliError(`${flags.file} is invalid; nothing was applied`, {
          code: error.code,
          issues: fileIssues(flags.file, error.issues.map((i) => fromTaskDefinitionFile(i, sources))),
        });
      }
      throw error;
    }
    if (!out.json) printChanges(out, result);
    await applyServices(client, out, result, flags, since);
  });
}

/** Prints each Service's deploy (or plan), then waits for the deployed ones; exits 1 if one failed. */
async function applyServices(client: ApiClient, out: Output, result: ApplyResult, flags: ApplyFlags, since: number): Promise<void> {
  const services = result.services ?? [];
  const failed: string[] = [];
  if (!out.json) {
    for (const s of services) {
      if (s.action === 'skip' && !s.error) continue;
      out.line(`${s.action === 'plan' ? 'Service' : 'Deploying service'} ${s.task}${s.action === 'plan' ? ' would change:' : ':'}`);
      if (s.error) {
        out.line(out.paint('red', `    ✗ ${s.error.message}`));
        continue;
      }
      printSteps(out, s.steps, '    ');
    }
  }
  for (const s of services) if (s.error) failed.push(`${s.task}: ${s.error.message}`);
  const waiting = services.filter((s) => s.action === 'deploy' && !s.error);
  const finals: unknown[] = [];
  if (!result.dry_run && flags.wait !== false) {
    for (const s of waiting) {
      try {
        finals.push(await waitForService(client, out, s.task, { timeoutSeconds: flags.timeout, pollSeconds: flags.pollInterval, since }));
      } catch (error) {
        if (!(error instanceof ExitRequest)) throw error;
        failed.push(`${s.task}: not stable (see above)`);
      }
    }
  }
  if (out.json) out.printJson(finals.length ? { ...result, service_states: finals } : result);
  if (failed.length > 0) {
    if (!out.json) out.note(out.paintErr('red', `${failed.length} Service(s) not deployed as asked; everything else was applied. Fix and apply again, or run berth services deploy NAME.`));
    throw new ExitRequest(1);
  }
}
