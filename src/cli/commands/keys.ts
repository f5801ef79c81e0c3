import { Option } from 'commander';
import type { Command } from 'commander';
import { API_KEY_SCOPES } from '../../domain/api-key.js';
import type { ApiKey } from '../../domain/api-key.js';
import { seg } from '../client.js';
import { contextFor, withCommonOptions } from '../common.js';
import type { CommonFlags } from '../common.js';
import { relativeTime } from '../output.js';

interface CreateFlags extends CommonFlags {
  scope: (typeof API_KEY_SCOPES)[number];
  runEnvironment?: string;
  mayCreatePassiveTasks?: boolean;
}

export function registerKeys(program: Command): void {
  const keys = program
    .command('keys')
    .summary('create, list and revoke API keys (admin)')
    .description(
      'Manage API keys (needs an admin key). Scopes: admin (everything), developer (Run Environments, ' +
        'Tasks, executions), reporter (read, and report executions: what a wrapper in a container needs).',
    );
  keys.addHelpText(
    'after',
    '\nExamples:\n  $ berth keys create ci --scope developer\n  $ berth keys create wrapper --scope reporter --run-environment prod\n  $ berth keys create wrapper --scope reporter --run-environment prod --may-create-passive-tasks\n  $ berth keys list\n  $ berth keys revoke ci',
  );

  const create = keys
    .command('create')
    .description('Create an API key. The key is printed once: Berth keeps only a hash of it.')
    .argument('<name>', 'a name to recognise the key by (letters, digits, ".", "_", "-")')
    .addOption(new Option('--scope <scope>', 'what the key may do').choices(API_KEY_SCOPES).makeOptionMandatory())
    .option('--run-environment <name>', 'reporter keys: only executions of this Run Environment')
    .option(
      '--may-create-passive-tasks',
      'reporter keys (with --run-environment): a wrapper with this key may create a passive Task there when it reports a run of a Task Berth does not know (proc_wrapper auto-create)',
    );
  withCommonOptions(create);
  create.addHelpText(
    'after',
    `
The key goes to stdout on a line of its own, so it can be captured:
  $ export BERTH_API_KEY=$(berth keys create ci --scope developer 2>/dev/null | tail -n 1)

Examples:
  $ berth keys create ci --scope developer
  $ berth keys create wrapper --scope reporter --run-environment prod --json
  $ berth keys create wrapper --scope reporter --run-environment prod --may-create-passive-tasks`,
  );
  create.action(async (name: string, flags: CreateFlags) => {
    const { client, out } = contextFor(flags);
    const created = await client.post<{ api_key: ApiKey; key: string }>('/api/v1/api_keys', {
      name,
      scope: flags.scope,
      ...(flags.runEnvironment ? { run_environment: flags.runEnvironment } : {}),
      ...(flags.mayCreatePassiveTasks ? { may_create_passive_tasks: true } : {}),
    });
    if (out.json) return out.printJson(created);
    const k = created.api_key;
    out.note(
      `Created API key "${k.name}" (scope ${k.scope}${k.run_environment ? `, Run Environment ${k.run_environment.name}` : ''}${k.may_create_passive_tasks ? ', may create passive Tasks' : ''}, prefix ${k.prefix}).`,
    );
    out.note(out.paintErr('yellow', 'Store it now: it is not shown again.'));
    out.line(created.key);
  });

  const list = keys.command('list').alias('ls').description('List API keys (never their values), oldest first.');
  withCommonOptions(list);
  list.addHelpText('after', '\nExamples:\n  $ berth keys list\n  $ berth keys list --json');
  list.action(async (flags: CommonFlags) => {
    const { client, out } = contextFor(flags);
    const result = await client.get<{ results: ApiKey[] }>('/api/v1/api_keys');
    if (out.json) return out.printJson(result);
    if (result.results.length === 0) return out.note('No API keys.');
    out.table(
      [
        { header: 'NAME' },
        { header: 'SCOPE' },
        { header: 'PREFIX' },
        { header: 'RUN ENVIRONMENT' },
        { header: 'CREATES TASKS' },
        { header: 'CREATED' },
        { header: 'LAST USED' },
        { header: 'STATE', colour: (v) => (v === 'active' ? 'green' : 'dim') },
      ],
      result.results.map((k) => [
        k.name,
        k.scope,
        k.prefix,
        k.run_environment?.name ?? '-',
        k.scope === 'reporter' ? (k.may_create_passive_tasks ? 'passive' : 'no') : 'yes',
        relativeTime(k.created_at),
        k.last_used_at ? relativeTime(k.last_used_at) : 'never',
        k.revoked_at ? `revoked ${relativeTime(k.revoked_at)}` : 'active',
      ]),
    );
  });

  const revoke = keys
    .command('revoke')
    .description('Revoke an API key: it stops working at once (within 5 s on other servers).')
    .argument('<key>', 'name, prefix or uuid of the key');
  withCommonOptions(revoke);
  revoke.addHelpText('after', '\nExamples:\n  $ berth keys revoke ci\n  $ berth keys revoke berth_1a2b3c4d');
  revoke.action(async (ref: string, flags: CommonFlags) => {
    const { client, out } = contextFor(flags);
    const key = await client.delete<ApiKey>(`/api/v1/api_keys/${seg(ref)}`);
    if (out.json) return out.printJson(key);
    out.line(`Revoked API key "${key.name}" (${key.prefix}).`);
  });
}
