import type { Command } from 'commander';
import { seg } from '../client.js';
import { contextFor, intArg, withCommonOptions } from '../common.js';
import type { CommonFlags } from '../common.js';
import type { Output } from '../output.js';

interface PruneFlags extends CommonFlags {
  keep?: number;
  dryRun?: boolean;
}

/** The answer of `POST /api/v1/tasks/{task}/prune_revisions`: task definition ARNs. */
export interface PruneResult {
  dry_run: boolean;
  kept: string[];
  removed: string[];
}

const revisions = (n: number) => `${n} ${n === 1 ? 'revision' : 'revisions'}`;

/** `- removed ARN` (or `- would remove ARN`) lines, `= kept ARN` lines, then a summary. */
export function printPruneResult(out: Output, task: string, result: PruneResult): void {
  const removed = result.dry_run ? 'would remove' : 'removed';
  for (const arn of result.removed) out.line(out.paint(result.dry_run ? 'yellow' : 'red', `- ${removed} ${arn}`));
  for (const arn of result.kept) out.line(out.paint('dim', `= kept ${arn}`));
  out.line(pruneSummary(task, result));
}

export function pruneSummary(task: string, result: PruneResult): string {
  const [removed, kept] = [result.removed.length, result.kept.length];
  if (removed === 0 && kept === 0) return `Task ${task} has no registered task definition revisions; nothing to prune.`;
  if (result.dry_run) return `Dry run: would remove ${revisions(removed)} of task ${task} and keep ${kept}; nothing was changed.`;
  if (removed === 0) return `Nothing to remove: task ${task} has ${revisions(kept)}, all kept.`;
  return `Removed ${revisions(removed)} of task ${task}; kept ${kept}.`;
}

/** `berth tasks prune-revisions TASK`: deregister old ECS task definition revisions of an aws-ecs Task. */
export function registerPruneRevisions(tasks: Command): void {
  const command = tasks
    .command('prune-revisions')
    .summary('Deregister old ECS task definition revisions of an aws-ecs Task.')
    .description(
      'Deregister old ECS task definition revisions of an aws-ecs Task (Berth registers a new one whenever ' +
        'the definition changes). The newest --keep revisions and any that queued or running executions ' +
        'use are kept. Local Tasks have no revisions.',
    )
    .argument('<task>', 'name or uuid')
    .option('--keep <n>', 'how many of the newest revisions to keep, 1–1000 (default: 5)', intArg(1, 1000))
    .option('--dry-run', 'only show what would be removed');
  withCommonOptions(command);
  command.addHelpText(
    'after',
    `
Output: "- removed ARN" for each deregistered revision ("- would remove" with --dry-run),
"= kept ARN" for each kept one, then a summary.

Examples:
  $ berth tasks prune-revisions etl --dry-run
  $ berth tasks prune-revisions etl --keep 3
  $ berth tasks prune-revisions etl --json`,
  );
  command.action(async (name: string, flags: PruneFlags) => {
    const { client, out } = contextFor(flags);
    const result = await client.post<PruneResult>(`/api/v1/tasks/${seg(name)}/prune_revisions`, {
      ...(flags.keep !== undefined ? { keep: flags.keep } : {}),
      dry_run: flags.dryRun === true,
    });
    if (out.json) return out.printJson(result);
    printPruneResult(out, name, result);
  });
}
