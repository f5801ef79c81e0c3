import type { Command } from 'commander';
import { fileIssues, fromTaskDefinitionFile, prepareBerthYaml, printChanges, readBerthYaml } from '../berth-yaml.js';
import type { ApplyResult } from '../berth-yaml.js';
import { CliError } from '../errors.js';
import { contextFor, withCommonOptions } from '../common.js';
import type { CommonFlags } from '../common.js';
import { baseDirectoryOf } from '../task-definition-file.js';

interface ApplyFlags extends CommonFlags {
  file: string;
  dryRun?: boolean;
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
    .option('--dry-run', 'show what would change without writing anything');
  withCommonOptions(command);
  command.addHelpText(
    'after',
    `
Output: one line per object — "+" created, "~" updated (with "field: before → after" lines),
"=" unchanged — then a summary.

A Task's task_definition_file: is read here and sent as task_definition (a JSON ECS task
definition). Its path is relative to the berth.yaml's directory (to the working directory with
-f -); absolute paths are used as they are.

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
    if (out.json) out.printJson(result);
    else printChanges(out, result);
  });
}
