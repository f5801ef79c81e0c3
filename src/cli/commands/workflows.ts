import type { Command } from 'commander';
import type { Workflow } from '../../domain/workflow.js';
import { seg } from '../client.js';
import { contextFor, withCommonOptions, withPaging } from '../common.js';
import type { CommonFlags, Page } from '../common.js';
import { relativeTime } from '../output.js';
import { printWorkflow } from '../workflow-output.js';

interface ListFlags extends CommonFlags {
  search?: string;
  limit: number;
  offset: number;
}

export function registerWorkflows(program: Command): void {
  const workflows = program
    .command('workflows')
    .summary('list, show and delete Workflows')
    .description('List, show and delete Workflows (Tasks chained by transitions). Create and change them with `berth apply` (a workflows: section).');
  workflows.addHelpText(
    'after',
    '\nExamples:\n  $ berth workflows ls\n  $ berth workflows show nightly\n  $ berth workflows rm nightly\n  $ berth run-workflow nightly --wait',
  );

  const ls = workflows
    .command('ls')
    .alias('list')
    .description('List Workflows by name.')
    .option('--search <text>', 'only Workflows whose name contains this');
  withPaging(ls);
  withCommonOptions(ls);
  ls.addHelpText('after', '\nExamples:\n  $ berth workflows ls\n  $ berth workflows ls --search nightly --json');
  ls.action(async (flags: ListFlags) => {
    const { client, out } = contextFor(flags);
    const page = await client.get<Page<Workflow>>('/api/v1/workflows', { search: flags.search, limit: flags.limit, offset: flags.offset });
    out.listPage(page, flags.offset, 'workflows', [
      { header: 'NAME' },
      { header: 'VERSION', right: true },
      { header: 'INSTANCES', right: true },
      { header: 'TRANSITIONS', right: true },
      { header: 'TIMEOUT', right: true },
      { header: 'UPDATED' },
    ], (w) => [
      w.name,
      String(w.version),
      String(w.task_instances.length),
      String(w.transitions.length),
      w.timeout_seconds === null ? '-' : `${w.timeout_seconds} s`,
      relativeTime(w.updated_at),
    ]);
  });

  const show = workflows
    .command('show')
    .description('Show one Workflow: its task instances (with start conditions, failure behaviours and overrides) and transitions.')
    .argument('<workflow>', 'name or uuid');
  withCommonOptions(show);
  show.addHelpText('after', '\nExamples:\n  $ berth workflows show nightly\n  $ berth workflows show nightly --json');
  show.action(async (name: string, flags: CommonFlags) => {
    const { client, out } = contextFor(flags);
    const workflow = await client.get<Workflow>(`/api/v1/workflows/${seg(name)}`);
    if (out.json) return out.printJson(workflow);
    printWorkflow(out, workflow);
  });

  const rm = workflows
    .command('rm')
    .alias('delete')
    .description('Delete a Workflow and its execution history; its Task Executions stay (refused while one of its executions runs).')
    .argument('<workflow>', 'name or uuid');
  withCommonOptions(rm);
  rm.addHelpText('after', '\nExamples:\n  $ berth workflows rm nightly');
  rm.action(async (name: string, flags: CommonFlags) => {
    const { client, out } = contextFor(flags);
    await client.delete(`/api/v1/workflows/${seg(name)}`);
    if (out.json) return; // the API answers 204 with no body
    out.line(`Deleted workflow ${name}.`);
  });
}
