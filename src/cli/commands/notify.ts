import type { Command } from 'commander';
import { seg } from '../client.js';
import { EXIT, ExitRequest } from '../errors.js';
import { contextFor, withCommonOptions } from '../common.js';
import type { CommonFlags } from '../common.js';

interface TestAnswer {
  profile: { uuid: string; name: string };
  ok: boolean;
  results: { method: string; type: string; ok: boolean; status: number | null; error: string | null; duration_ms: number }[];
}

/**
 * `berth notify test PROFILE`: a test event through every method of a profile, one line per
 * method. Exits 0 when every method delivered, 1 when any failed.
 */
export function registerNotify(program: Command): void {
  const notify = program
    .command('notify')
    .summary('send test notifications')
    .description('Send notifications by hand. `berth notify test PROFILE` checks that every method of a Notification Profile delivers.');
  notify.addHelpText('after', '\nExamples:\n  $ berth notify test oncall\n  $ berth notify test oncall --json');

  const test = notify
    .command('test')
    .description('Send a test event through every method of a Notification Profile now and print how each went (exit 1 if any failed).')
    .argument('<profile>', 'Notification Profile name or uuid');
  withCommonOptions(test);
  test.addHelpText('after', '\nExamples:\n  $ berth notify test oncall\n  $ berth notify test oncall --json');
  test.action(async (profile: string, flags: CommonFlags) => {
    const { client, out } = contextFor(flags);
    const answer = await client.post<TestAnswer>(`/api/v1/notification_profiles/${seg(profile)}/test`, {});
    if (out.json) out.printJson(answer);
    else {
      out.table(
        [
          { header: 'METHOD' },
          { header: 'TYPE' },
          { header: 'RESULT', colour: (v) => (v === 'delivered' ? 'green' : 'red') },
          { header: 'STATUS', right: true },
          { header: 'TIME', right: true },
          { header: 'ERROR' },
        ],
        answer.results.map((r) => [r.method, r.type, r.ok ? 'delivered' : 'failed', r.status === null ? '-' : String(r.status), `${r.duration_ms} ms`, r.error ?? '-']),
      );
      const failed = answer.results.filter((r) => !r.ok).length;
      out.note(failed === 0 ? `All ${answer.results.length} method(s) of "${answer.profile.name}" delivered.` : `${failed} of ${answer.results.length} method(s) of "${answer.profile.name}" failed.`);
    }
    if (!answer.ok) throw new ExitRequest(EXIT.FAILURE);
  });
}
