import type { Command } from 'commander';
import { contextFor, intArg, uuidArg, withCommonOptions } from '../common.js';
import type { CommonFlags } from '../common.js';
import { CliError } from '../errors.js';
import { ExecutionWatcher, resultLine } from '../follow.js';
import { statusColour } from '../output.js';

interface LogsFlags extends CommonFlags {
  follow?: boolean;
  attempt?: number;
}

export function registerLogs(program: Command): void {
  const command = program
    .command('logs')
    .summary("print an execution's output")
    .description(
      "Print the output of a Task Execution: its stdout lines to stdout, its stderr lines to stderr. " +
        'Shows the latest attempt unless --attempt is given. With -f, keeps printing until the execution ' +
        'ends, moving on to the next attempt when a retry starts.',
    )
    .argument('<execution>', 'execution uuid', uuidArg)
    .option('-f, --follow', 'keep printing new lines until the execution ends')
    .option('--attempt <n>', 'which attempt (default: the latest)', intArg(1, 1000));
  withCommonOptions(command);
  command.addHelpText(
    'after',
    `
With --json, each page of logs is printed as the API returns it, one JSON object per line.
Ctrl-C stops following; the execution keeps running.

Examples:
  $ berth logs 0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f
  $ berth logs 0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f -f
  $ berth logs 0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f --attempt 1 2>/dev/null`,
  );
  command.action(async (uuid: string, flags: LogsFlags) => {
    const { client, out, env } = contextFor(flags);
    const watcher = new ExecutionWatcher(client, out, env);
    if (out.json) {
      // Pages as JSON lines; -f keeps polling like the human form does.
      let cursor: string | undefined;
      for (;;) {
        const page = await watcher.logPage(uuid, flags.attempt, cursor);
        if (!page) throw new CliError(`Execution ${uuid} has not started yet; there are no logs.`, { code: 'LOGS_UNAVAILABLE' });
        out.line(JSON.stringify(page));
        cursor = page.next_cursor;
        if (page.complete || (!flags.follow && page.entries.length === 0)) return;
        if (page.entries.length === 0) await new Promise((r) => setTimeout(r, 300));
      }
    }
    if (!flags.follow) {
      const page = await watcher.printAttempt(uuid, flags.attempt, { untilComplete: false });
      if (!page) {
        // Still starting, or never started: ask the server for its explanation.
        const execution = await watcher.get(uuid);
        throw new CliError(
          execution.attempt === 0
            ? `Execution ${uuid} has not started yet (status ${execution.status}); there are no logs. Follow it with: berth logs ${uuid} -f`
            : `Attempt ${flags.attempt ?? execution.attempt} of execution ${uuid} is still starting; try again in a moment, or use -f.`,
          { code: 'LOGS_UNAVAILABLE' },
        );
      }
      return;
    }
    const final = await watcher.waitUntilOver(uuid, { stream: true, fromAttempt: flags.attempt ?? 'latest', showProgress: false });
    out.note(out.paintErr(statusColour(final.status), resultLine(final)));
  });
}
