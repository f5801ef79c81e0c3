import type { Command } from 'commander';
import type { TaskExecution } from '../../domain/task-execution.js';
import { seg } from '../client.js';
import { contextFor, uuidArg, withCommonOptions } from '../common.js';
import type { CommonFlags } from '../common.js';
import { ExecutionWatcher, isOver, resultLine } from '../follow.js';
import { statusColour } from '../output.js';

interface StopFlags extends CommonFlags {
  wait?: boolean;
}

export function registerStop(program: Command): void {
  const command = program
    .command('stop')
    .summary('stop a running (or queued) execution')
    .description(
      'Ask Berth to stop a Task Execution. A queued one is cancelled at once (STOPPED); a running one ' +
        'moves to STOPPING and gets SIGTERM, then SIGKILL after its termination grace period.',
    )
    .argument('<execution>', 'execution uuid', uuidArg)
    .option('-w, --wait', 'wait until it has ended and print its final status');
  withCommonOptions(command);
  command.addHelpText(
    'after',
    `
Examples:
  $ berth stop 0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f
  $ berth stop 0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f --wait`,
  );
  command.action(async (uuid: string, flags: StopFlags) => {
    const { client, out, env } = contextFor(flags);
    const updated = await client.patch<TaskExecution>(`/api/v1/task_executions/${seg(uuid)}`, { status: 'STOPPING' });
    if (!flags.wait || isOver(updated.status)) {
      if (out.json) return out.printJson(updated);
      out.line(`${updated.task.name} ${uuid}: ${out.paint(statusColour(updated.status), updated.status)}`);
      if (!isOver(updated.status)) out.note(`Stop requested. Wait for it with: berth stop ${uuid} --wait`);
      return;
    }
    if (!out.json) out.note(`${updated.task.name} ${uuid}: ${updated.status}; waiting for it to end…`);
    const final = await new ExecutionWatcher(client, out, env).waitUntilOver(uuid, {
      stream: false,
      interruptMessage: `Stopped waiting. The stop request stands; see how it ends with: berth executions show ${uuid}`,
    });
    if (out.json) return out.printJson(final);
    out.line(`${final.task.name} ${uuid}: ${out.paint(statusColour(final.status), final.status)}`);
    if (final.status !== 'STOPPED') out.note(resultLine(final));
  });
}
