import type { Command } from 'commander';
import { seg } from '../client.js';
import { contextFor, withCommonOptions } from '../common.js';
import type { CommonFlags } from '../common.js';
import { EXIT, ExitRequest } from '../errors.js';
import { paint } from '../output.js';
import type { Colour } from '../output.js';

interface VerifyFlags extends CommonFlags {
  task?: string;
}

type Status = 'pass' | 'fail' | 'warn' | 'skip';

/** The answer of `POST /api/v1/run_environments/{run_environment}/verify`. */
export interface VerifyAnswer {
  ok: boolean;
  run_environment: { uuid: string; name: string };
  task?: { uuid: string; name: string };
  checks: { name: string; status: Status; message: string; fix?: string }[];
}

const MARKS: Record<Status, { symbol: string; word: string; colour: Colour }> = {
  pass: { symbol: '✓', word: 'PASS', colour: 'green' },
  fail: { symbol: '✗', word: 'FAIL', colour: 'red' },
  warn: { symbol: '!', word: 'WARN', colour: 'yellow' },
  skip: { symbol: '-', word: 'SKIP', colour: 'dim' },
};

/**
 * One line per check (`✓`/`✗`/`!`/`-` with colour, else `PASS`/`FAIL`/`WARN`/`SKIP`), the fix
 * indented under a failure or warning, then a summary line.
 */
export function renderVerify(answer: VerifyAnswer, colour: boolean): string[] {
  const width = Math.max(0, ...answer.checks.map((c) => [...c.name].length));
  const lines: string[] = [];
  for (const check of answer.checks) {
    const mark = MARKS[check.status];
    const label = colour ? mark.symbol : mark.word;
    const head = `${paint(colour, mark.colour, label)}  ${check.name.padEnd(width)}  `;
    lines.push(`${head}${check.message}`);
    if (check.fix && (check.status === 'fail' || check.status === 'warn')) {
      const indent = ' '.repeat([...label].length + 2 + width + 2);
      lines.push(`${indent}${paint(colour, 'dim', 'fix:')} ${check.fix}`);
    }
  }
  const count = (status: Status) => answer.checks.filter((c) => c.status === status).length;
  const parts = [`${count('pass')} passed`, `${count('fail')} failed`];
  if (count('warn')) parts.push(`${count('warn')} ${count('warn') === 1 ? 'warning' : 'warnings'}`);
  if (count('skip')) parts.push(`${count('skip')} skipped`);
  const subject = `Run Environment ${answer.run_environment.name}${answer.task ? `, Task ${answer.task.name}` : ''}`;
  const verdict = answer.ok ? paint(colour, 'green', 'ready') : paint(colour, 'red', 'not ready');
  lines.push('', `${subject}: ${verdict} (${parts.join(', ')}).`);
  return lines;
}

/** `berth verify RUN_ENV [--task TASK]`: preflight of an aws-ecs Run Environment, run by the server. */
export function registerVerify(program: Command): void {
  const command = program
    .command('verify')
    .summary('check an aws-ecs Run Environment (and a Task) against AWS before running')
    .description(
      'Check an aws-ecs Run Environment against AWS, with the credentials and endpoint the server launches ' +
        'with: credentials (and role_arn), cluster and Fargate capacity, subnets and security groups, ' +
        'execution and task roles, log group. With --task also the Task\'s secrets, ECR image and ' +
        'cpu/memory. Every check runs; each failure says what to change. See docs/verify.md.',
    )
    .argument('<run_environment>', 'name or uuid of an aws-ecs Run Environment')
    .option('--task <task>', 'also check this Task of the Run Environment (name or uuid)');
  withCommonOptions(command);
  command.addHelpText(
    'after',
    `
Output: one line per check, PASS / FAIL / WARN / SKIP (✓ ✗ ! - on a terminal), the fix under
each failure, then a summary. Exit code 1 when a check failed, 0 otherwise (also with --json).

Examples:
  $ berth verify prod
  $ berth verify prod --task nightly-etl
  $ berth verify prod --task nightly-etl --json`,
  );
  command.action(async (runEnvironment: string, flags: VerifyFlags) => {
    const { client, out } = contextFor(flags);
    const answer = await client.post<VerifyAnswer>(
      `/api/v1/run_environments/${seg(runEnvironment)}/verify`,
      flags.task !== undefined ? { task: flags.task } : {},
    );
    if (out.json) out.printJson(answer);
    else {
      out.lines(renderVerify(answer, out.colour));
      if (!answer.task) out.note(out.paintErr('dim', 'Give --task TASK to check a Task\'s secrets, image and size as well.'));
    }
    if (!answer.ok) throw new ExitRequest(EXIT.FAILURE);
  });
}
