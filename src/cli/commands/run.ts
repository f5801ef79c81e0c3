import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import type { TaskExecution } from '../../domain/task-execution.js';
import { contextFor, withCommonOptions } from '../common.js';
import type { CommonFlags } from '../common.js';
import { ExitRequest } from '../errors.js';
import { ExecutionWatcher, exitCodeFor, resultLine } from '../follow.js';
import { statusColour } from '../output.js';

interface RunFlags extends CommonFlags {
  wait?: boolean;
  follow?: boolean;
  env?: Record<string, string>;
  input?: { value: unknown };
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses one `--env NAME=VALUE` into the map of earlier ones. */
export function parseEnvOption(raw: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = raw.indexOf('=');
  if (eq < 0) throw new InvalidArgumentError(`expected NAME=VALUE, got "${raw}".`);
  const name = raw.slice(0, eq);
  if (!ENV_NAME.test(name)) {
    throw new InvalidArgumentError(
      `"${name}" is not a valid environment variable name (letters, digits and "_", not starting with a digit).`,
    );
  }
  return { ...previous, [name]: raw.slice(eq + 1) };
}

function parseInput(raw: string): { value: unknown } {
  try {
    return { value: JSON.parse(raw) as unknown };
  } catch (error) {
    throw new InvalidArgumentError(`must be JSON (e.g. '{"date": "2024-01-31"}'): ${(error as Error).message}.`);
  }
}

export function registerRun(program: Command): void {
  const command = program
    .command('run')
    .summary('start a Task (and optionally wait for it)')
    .description(
      'Start a Task. Prints the execution uuid, or with --wait / --follow waits until it ends, prints ' +
        "its output (stdout to stdout, stderr to stderr) and exits with the task's exit code.",
    )
    .argument('<task>', 'name or uuid of the Task')
    .option('-w, --wait', 'wait until it ends, then print its output and exit with its exit code')
    .option('-f, --follow', 'like --wait, but stream its output while it runs')
    .option('-e, --env <NAME=VALUE>', 'set an environment variable for this run (repeatable)', parseEnvOption)
    .option('--input <json>', 'input value for this run, as JSON', parseInput);
  withCommonOptions(command);
  command.addHelpText(
    'after',
    `
Exit codes with --wait/--follow:
  0    SUCCEEDED
  N    FAILED with exit code N (1 when there is none)
  124  TERMINATED_AFTER_TIME_OUT
  143  STOPPED
  1    ABANDONED or anything else
  130  you pressed Ctrl-C (the task keeps running; stop it with berth stop)

With --json, nothing else is printed on stdout: the execution as the API returns it (the final
one with --wait/--follow); read the output with berth logs.

Examples:
  $ berth run hello
  $ berth run hello --wait
  $ berth run nightly-report --follow --env REPORT_DATE=2024-01-31
  $ berth run import --input '{"file": "s3://bucket/x.csv"}' --wait`,
  );
  command.action(async (task: string, flags: RunFlags) => {
    const { client, out, env } = contextFor(flags);
    const body: Record<string, unknown> = { task };
    if (flags.env && Object.keys(flags.env).length > 0) body.environment = flags.env;
    if (flags.input) body.input_value = flags.input.value;
    const created = await client.post<TaskExecution>('/api/v1/task_executions', body);
    if (!flags.wait && !flags.follow) {
      if (out.json) return out.printJson(created);
      out.line(created.uuid);
      out.note(`Started ${created.task.name} (${created.status}). Follow its output: berth logs ${created.uuid} -f`);
      return;
    }
    const watcher = new ExecutionWatcher(client, out, env);
    const stream = flags.follow === true && !out.json;
    const final = await watcher.waitUntilOver(created.uuid, {
      stream,
      fromAttempt: 1,
      ...(out.json ? {} : { announce: `Started ${created.task.name}: execution ${created.uuid}. Waiting for it to end (Ctrl-C stops waiting, not the task).` }),
    });
    if (out.json) out.printJson(final);
    else {
      if (!stream) await watcher.printAll(final);
      out.note(out.paintErr(statusColour(final.status), resultLine(final)));
    }
    const code = exitCodeFor(final);
    if (code !== 0) throw new ExitRequest(code);
  });
}
