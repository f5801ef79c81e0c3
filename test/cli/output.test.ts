import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseEnvOption } from '../../src/cli/commands/run.js';
import { parseStatusList } from '../../src/cli/commands/executions.js';
import { exitCodeFor, resultLine } from '../../src/cli/follow.js';
import {
  formatCommand,
  formatDuration,
  paint,
  relativeTime,
  renderFields,
  renderTable,
  truncate,
  useColour,
} from '../../src/cli/output.js';
import { resolveSettings } from '../../src/cli/settings.js';
import { summary } from '../../src/cli/berth-yaml.js';
import { tempDir } from '../support/temp.js';
import { writeFile } from './cli.js';

const dir = tempDir('berth-cli-unit-');
afterAll(() => dir.cleanup());

describe('formatting', () => {
  it('formats durations', () => {
    expect(formatDuration(20)).toBe('< 0.1 s');
    expect(formatDuration(400)).toBe('0.4 s');
    expect(formatDuration(12_300)).toBe('12 s');
    expect(formatDuration(184_000)).toBe('3 min 4 s');
    expect(formatDuration(2 * 3600_000 + 5 * 60_000)).toBe('2 h 5 min');
    expect(formatDuration(3 * 86400_000 + 4 * 3600_000)).toBe('3 d 4 h');
  });

  it('formats relative times', () => {
    const now = Date.parse('2024-05-01T12:00:00Z');
    expect(relativeTime('2024-05-01T11:59:55Z', now)).toBe('5 s ago');
    expect(relativeTime('2024-05-01T11:57:00Z', now)).toBe('3 min ago');
    expect(relativeTime('2024-05-01T10:00:00Z', now)).toBe('2 h ago');
    expect(relativeTime('2024-05-01T12:00:10Z', now)).toBe('in 10 s');
    expect(relativeTime('2023-01-01T00:00:00Z', now)).toBe('2023-01-01');
    expect(relativeTime(null, now)).toBe('-');
  });

  it('aligns table columns, right-aligns numbers, and colours without breaking alignment', () => {
    const columns = [{ header: 'NAME' }, { header: 'N', right: true }, { header: 'NOTE' }];
    const rows = [
      ['a', '1', 'x'],
      ['longer', '100', ''],
    ];
    expect(renderTable(columns, rows)).toEqual(['NAME      N  NOTE', 'a         1  x', 'longer  100']);
    const coloured = renderTable(columns, rows, true);
    // eslint-disable-next-line no-control-regex
    expect(coloured.map((l) => l.replace(/\u001b\[\d+m/g, ''))).toEqual(renderTable(columns, rows));
    expect(renderFields([['Name', 'x'], ['Environment', 'A=1\nB=2']])).toEqual(['Name:        x', 'Environment: A=1', '             B=2']);
  });

  it('colours only on a TTY and not with NO_COLOR', () => {
    expect(useColour({ write: () => true, isTTY: true }, {})).toBe(true);
    expect(useColour({ write: () => true, isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(useColour({ write: () => true }, {})).toBe(false);
    expect(paint(false, 'red', 'x')).toBe('x');
  });

  it('formats commands and truncates', () => {
    expect(formatCommand(['sh', '-c', "echo 'hi'"])).toBe(`sh -c 'echo '\\''hi'\\'''`);
    expect(formatCommand('echo hi')).toBe('echo hi');
    expect(truncate('abcdefghij', 5)).toBe('abcd…');
  });

  it('summarises apply results', () => {
    const change = (action: 'create' | 'update' | 'unchanged') => ({ kind: 'task' as const, name: action, action, fields: [] });
    const changes = [change('create'), change('create'), change('update'), change('unchanged')];
    expect(summary({ dry_run: false, changes })).toBe('2 created, 1 updated, 1 unchanged');
    expect(summary({ dry_run: true, changes })).toMatch(/^Dry run: would create 2, would update 1, 1 unchanged/);
  });
});

describe('exit codes', () => {
  const e = (status: string, exit_code: number | null = null) =>
    ({ status, exit_code, failure: null }) as Parameters<typeof exitCodeFor>[0];
  it('maps final statuses to exit codes', () => {
    expect(exitCodeFor(e('SUCCEEDED', 0))).toBe(0);
    expect(exitCodeFor(e('FAILED', 3))).toBe(3);
    expect(exitCodeFor(e('FAILED'))).toBe(1);
    expect(exitCodeFor(e('FAILED', 300))).toBe(1);
    expect(exitCodeFor(e('TERMINATED_AFTER_TIME_OUT'))).toBe(124);
    expect(exitCodeFor(e('STOPPED'))).toBe(143);
    expect(exitCodeFor(e('ABANDONED'))).toBe(1);
    expect(exitCodeFor(e('MARKED_DONE'))).toBe(1);
  });

  it('writes a one-line result', () => {
    const base = {
      task: { name: 'fails' },
      attempt: 1,
      started_at: '2024-05-01T12:00:00.000Z',
      finished_at: '2024-05-01T12:00:00.400Z',
      created_at: '2024-05-01T12:00:00.000Z',
      stop_reason: null,
    };
    expect(resultLine({ ...base, status: 'SUCCEEDED', failure: null } as never)).toBe('fails SUCCEEDED in 0.4 s');
    expect(
      resultLine({ ...base, status: 'FAILED', failure: { message: 'The command exited with code 3.' } } as never),
    ).toBe('fails FAILED: The command exited with code 3.');
  });
});

describe('arguments', () => {
  it('parses --env NAME=VALUE and rejects bad names', () => {
    expect(parseEnvOption('A=1=2', { B: 'x' })).toEqual({ B: 'x', A: '1=2' });
    expect(parseEnvOption('EMPTY=')).toEqual({ EMPTY: '' });
    expect(() => parseEnvOption('1X=2')).toThrow(/not a valid environment variable name/);
    expect(() => parseEnvOption('NOVALUE')).toThrow(/expected NAME=VALUE/);
  });

  it('parses --status lists', () => {
    expect(parseStatusList('running, failed')).toBe('RUNNING,FAILED');
    expect(parseStatusList('in_progress')).toBe('IN_PROGRESS');
    expect(() => parseStatusList('DONE')).toThrow(/unknown status "DONE"/);
  });
});

describe('settings', () => {
  const home = (extra: Record<string, string> = {}) => ({ XDG_CONFIG_HOME: path.join(dir.dir, 'empty'), ...extra });

  it('defaults to http://127.0.0.1:7878 and no key', () => {
    expect(resolveSettings({}, home())).toMatchObject({ url: 'http://127.0.0.1:7878', urlSource: 'default', apiKey: null });
  });

  it('--url > BERTH_URL > config file; BERTH_API_KEY > config file', () => {
    const config = writeFile(dir.dir, 'c.yaml', 'url: http://config:1/\napi_key: from-file\n');
    const env = home({ BERTH_CONFIG: config });
    expect(resolveSettings({}, env)).toMatchObject({ url: 'http://config:1', urlSource: 'config', apiKey: 'from-file' });
    expect(resolveSettings({}, { ...env, BERTH_URL: 'http://env:2', BERTH_API_KEY: 'from-env' })).toMatchObject({
      url: 'http://env:2',
      apiKey: 'from-env',
    });
    expect(resolveSettings({ url: 'https://flag:3/' }, { ...env, BERTH_URL: 'http://env:2' })).toMatchObject({
      url: 'https://flag:3',
      urlSource: 'flag',
    });
  });

  it('reads $XDG_CONFIG_HOME/berth/config.yaml', () => {
    const xdg = path.join(dir.dir, 'xdg');
    writeFile(tempSubdir(path.join(xdg, 'berth')), 'config.yaml', 'api_key: xdg-key\n');
    expect(resolveSettings({}, { XDG_CONFIG_HOME: xdg }).apiKey).toBe('xdg-key');
  });

  it('rejects bad config files and URLs clearly', () => {
    const bad = writeFile(dir.dir, 'bad.yaml', 'url: ftp://x\ncolour: blue\n');
    expect(() => resolveSettings({}, home({ BERTH_CONFIG: bad }))).toThrow(`invalid config file ${bad}`);
    const missing = path.join(dir.dir, 'missing.yaml');
    expect(() => resolveSettings({}, home({ BERTH_CONFIG: missing }))).toThrow(/does not exist/);
    expect(() => resolveSettings({ url: 'localhost:7878' }, home())).toThrow(/--url: must be an http/);
  });
});

function tempSubdir(p: string): string {
  fs.mkdirSync(p, { recursive: true });
  return p;
}
