import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LIST_OPTIONS, OPTIONS, parseWrapConfig } from './options.js';
import type { WrapConfig } from './options.js';

const URL_ENV = { BERTH_WRAP_API_URL: 'https://berth.example.com', BERTH_WRAP_TASK: 'etl' };

function config(argv: string[], env: Record<string, string> = {}): WrapConfig {
  const result = parseWrapConfig(argv, env);
  if (result.kind !== 'config') throw new Error(`expected a config, got ${JSON.stringify(result)}`);
  return result.config;
}

function error(argv: string[], env: Record<string, string> = {}): string {
  const result = parseWrapConfig(argv, env);
  if (result.kind !== 'error') throw new Error(`expected an error, got ${JSON.stringify(result)}`);
  return result.message;
}

describe('parseWrapConfig', () => {
  it('runs offline with defaults when no API URL is given', () => {
    const c = config(['--', 'python', 'etl.py', '--since', 'yesterday']);
    expect(c.command).toEqual(['python', 'etl.py', '--since', 'yesterday']);
    expect(c.apiUrl).toBeNull();
    expect(c.heartbeatIntervalSeconds).toBe(30);
    expect(c.statusPort).toBe(2373);
    expect(c.timeoutSeconds).toBeNull();
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('takes the command from the first non-option argument too, leaving its options alone', () => {
    expect(config(['--max-retries', '2', 'ls', '-la', '--', 'x']).command).toEqual(['ls', '-la', '--', 'x']);
  });

  it('parses numbers from flags (with a space or =) and from variables', () => {
    const c = config(['--timeout=1.5', '--max-retries', '3', '--status-port', '0', '--', 'true'], {
      BERTH_WRAP_HEARTBEAT_INTERVAL: '0.25',
      PROC_WRAPPER_PROCESS_RETRY_DELAY_SECONDS: '7',
    });
    expect(c).toMatchObject({ timeoutSeconds: 1.5, maxRetries: 3, statusPort: 0, heartbeatIntervalSeconds: 0.25, retryDelaySeconds: 7 });
  });

  it('rejects bad numbers with a message naming the flag or the variable (proc_wrapper crashes here)', () => {
    expect(error(['--timeout', 'ten', '--', 'true'])).toBe('--timeout: expected a number of seconds (greater than 0), like 30 or 0.5, got "ten"');
    expect(error(['--timeout', '0', '--', 'true'])).toMatch(/^--timeout: expected a number of seconds greater than 0/);
    expect(error(['--max-retries', '1.5', '--', 'true'])).toBe('--max-retries: expected a whole number from 0 to 1000, got "1.5"');
    expect(error(['--', 'true'], { PROC_WRAPPER_PROCESS_MAX_RETRIES: '-1' })).toMatch(/^PROC_WRAPPER_PROCESS_MAX_RETRIES: expected a whole number/);
    expect(error(['--status-port', '70000', '--', 'true'])).toMatch(/^--status-port: expected a whole number from 0 to 65535/);
    expect(error(['--heartbeat-interval', '--', 'true'])).toBe('--heartbeat-interval needs a value');
    expect(error(['--', 'true'], { BERTH_WRAP_STATUS_LISTENER: 'maybe' })).toBe('BERTH_WRAP_STATUS_LISTENER: expected true or false, got "maybe"');
    expect(error(['--api-url', 'ftp://x', '--', 'true'])).toMatch(/^--api-url: expected an http\(s\) URL/);
    expect(error(['--execution-uuid', 'nope', '--', 'true'])).toMatch(/^--execution-uuid: expected a uuid/);
  });

  it('rejects unknown options and a missing command', () => {
    expect(error(['--tiemout', '5', '--', 'true'])).toMatch(/^unknown option --tiemout/);
    expect(error([])).toMatch(/^nothing to run/);
    expect(error(['--max-retries', '1'])).toMatch(/^nothing to run/);
  });

  it('takes the command from BERTH_WRAP_COMMAND or PROC_WRAPPER_TASK_COMMAND through the shell', () => {
    expect(config([], { PROC_WRAPPER_TASK_COMMAND: 'echo $HOME | wc -c' }).command).toEqual(['/bin/sh', '-c', 'echo $HOME | wc -c']);
  });

  it('orders sources: flag, then BERTH_WRAP_*, then proc_wrapper, then what Berth injects', () => {
    const env = {
      BERTH_TASK_NAME: 'from-berth',
      PROC_WRAPPER_TASK_NAME: 'from-proc-wrapper',
      BERTH_WRAP_TASK: 'from-berth-wrap',
      BERTH_WRAP_API_URL: 'http://127.0.0.1:1',
    };
    expect(config(['--task', 'from-flag', '--', 'true'], env).taskName).toBe('from-flag');
    expect(config(['--', 'true'], env).taskName).toBe('from-berth-wrap');
    expect(config(['--', 'true'], { ...env, BERTH_WRAP_TASK: '' }).taskName).toBe('from-proc-wrapper');
    expect(config(['--', 'true'], { BERTH_TASK_NAME: 'from-berth', BERTH_WRAP_API_URL: 'http://127.0.0.1:1' }).taskName).toBe('from-berth');
  });

  it('honours the variables Berth executors and proc_wrapper images set', () => {
    const c = config(['--', 'true'], {
      PROC_WRAPPER_API_BASE_URL: 'https://berth.example.com/api/v1/',
      PROC_WRAPPER_API_KEY: 'k',
      PROC_WRAPPER_TASK_EXECUTION_UUID: '0F8FAD5B-D9CB-469F-A165-70867728950E',
      PROC_WRAPPER_ENABLE_STATUS_UPDATE_LISTENER: 'TRUE',
      PROC_WRAPPER_PREVENT_OFFLINE_EXECUTION: 'FALSE',
    });
    expect(c).toMatchObject({
      apiUrl: 'https://berth.example.com',
      apiKey: 'k',
      executionUuid: '0f8fad5b-d9cb-469f-a165-70867728950e',
      statusListener: true,
      preventOfflineExecution: false,
    });
  });

  it('turns boolean flags on and off', () => {
    expect(config(['--status-listener', '--', 'true']).statusListener).toBe(true);
    expect(config(['--no-status-listener', '--', 'true'], { BERTH_WRAP_STATUS_LISTENER: 'true' }).statusListener).toBe(false);
    expect(config(['--retry-on-timeout=false', '--', 'true']).retryOnTimeout).toBe(false);
  });

  it('needs a Task or an execution once an API URL is set', () => {
    expect(error(['--', 'true'], { BERTH_WRAP_API_URL: 'https://b.example.com' })).toMatch(/not which Task to report on: give --task NAME/);
    expect(config(['--', 'true'], URL_ENV).taskName).toBe('etl');
    expect(error(['--auto-create-task', '--task-uuid', '0f8fad5b-d9cb-469f-a165-70867728950e', '--', 'true'])).toMatch(/--auto-create-task needs the Task's name/);
  });

  it('collects secrets from --secret, BERTH_WRAP_SECRET_* and *_FOR_PROC_WRAPPER_TO_RESOLVE, flags winning', () => {
    const c = config(['--secret', 'DB=ENV:FROM_FLAG', '--', 'true'], {
      DB_FOR_PROC_WRAPPER_TO_RESOLVE: 'ENV:FROM_PROC_WRAPPER',
      BERTH_WRAP_SECRET_DB: 'ENV:FROM_BERTH_WRAP',
      BERTH_WRAP_SECRET_TOKEN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:app-AbCdEf|JP:$.token',
      API_KEY_FOR_PROC_WRAPPER_TO_RESOLVE: 'AWS_SSM:/app/key',
    });
    const byName = Object.fromEntries(c.secrets.map((s) => [s.name, s]));
    expect(Object.keys(byName).sort()).toEqual(['API_KEY', 'DB', 'TOKEN']);
    expect(byName.DB).toMatchObject({ source: '--secret DB', location: { provider: 'ENV', address: 'FROM_FLAG' } });
    expect(byName.TOKEN!.location).toMatchObject({ provider: 'AWS_SM', format: 'json', path: ['token'] });
    expect(byName.API_KEY).toMatchObject({ source: 'API_KEY_FOR_PROC_WRAPPER_TO_RESOLVE', location: { provider: 'AWS_SSM', address: '/app/key' } });
  });

  it('rejects a bad secret location naming the variable, without echoing a value', () => {
    expect(error(['--', 'true'], { BERTH_WRAP_SECRET_DB: 'VAULT:kv/db' })).toBe(
      'BERTH_WRAP_SECRET_DB: unknown provider "VAULT:"; use one of PLAIN, ENV, FILE, AWS_SM, AWS_SSM, AWS_S3',
    );
    expect(error(['--secret', 'not a name=PLAIN:x', '--', 'true'])).toMatch(/"not a name" is not a valid environment variable name/);
    expect(error(['--secret', 'NOEQUALS', '--', 'true'])).toMatch(/^--secret: expected NAME=LOCATION/);
  });

  it('reads --env-from locations, or a comma-separated variable', () => {
    expect(config(['--env-from', 'FILE:/run/app.env', '--', 'true']).envFrom).toEqual([
      { source: '--env-from', location: { provider: 'FILE', address: '/run/app.env', format: 'text', path: null } },
    ]);
    expect(config(['--', 'true'], { PROC_WRAPPER_ENV_LOCATIONS: 'FILE:/a.env, AWS_S3:s3://b/c.json!json' }).envFrom.map((e) => e.location.provider)).toEqual([
      'FILE',
      'AWS_S3',
    ]);
  });

  it('has a distinct flag and BERTH_WRAP_* variable for every option', () => {
    const flags = OPTIONS.map((o) => o.flag);
    expect(new Set(flags).size).toBe(flags.length);
    for (const option of OPTIONS) expect(option.env[0], option.flag).toMatch(/^BERTH_WRAP_[A-Z_]+$/);
    const variables = OPTIONS.flatMap((o) => o.env);
    expect(new Set(variables).size).toBe(variables.length);
  });

  it('answers --help and --version', () => {
    const help = parseWrapConfig(['--help'], {});
    expect(help.kind).toBe('help');
    if (help.kind === 'help') for (const option of OPTIONS) expect(help.text).toContain(option.flag);
    expect(parseWrapConfig(['-V'], {}).kind).toBe('version');
  });
});

describe('docs/berth-wrap.md', () => {
  it('lists every option with its flag, all its variables and its default', () => {
    const doc = fs.readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/berth-wrap.md'), 'utf8');
    const rows = doc.split('\n').filter((line) => line.startsWith('| `--'));
    for (const option of OPTIONS) {
      const row = rows.find((r) => r.startsWith(`| \`${option.flag}\``) || r.startsWith(`| \`${option.flag} `));
      expect(row, option.flag).toBeDefined();
      const cells = row!.split(' | ');
      for (const variable of option.env) expect(cells[1], option.flag).toContain(`\`${variable}\``);
      expect(cells[2], option.flag).toBe(option.defaultText ?? '—');
    }
    for (const list of [LIST_OPTIONS.secret, LIST_OPTIONS.envFrom]) {
      const row = rows.find((r) => r.startsWith(`| \`${list.flag} `));
      expect(row, list.flag).toBeDefined();
      for (const variable of list.env) expect(row).toContain(`\`${variable}\``);
    }
    expect(rows).toHaveLength(OPTIONS.length + 2);
  });
});
