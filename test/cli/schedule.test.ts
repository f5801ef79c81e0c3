/** `berth schedule preview` as a subprocess: offline (no server, no settings), table and JSON. */
import { describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

// No BERTH_URL: the command must not need a server.
const berth = (args: string[]) => runCli(args, { env: { BERTH_URL: undefined, BERTH_API_KEY: undefined } });

describe('berth schedule preview', () => {
  it('prints the next fire times in UTC and in the zone, across a DST jump', async () => {
    const r = await berth(['schedule', 'preview', '30 2 * * *', '--tz', 'Europe/Paris', '-n', '3', '--from', '2025-03-29T00:00:00Z']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      'UTC                       Europe/Paris',
      '2025-03-29T01:30:00.000Z  2025-03-29T02:30:00+01:00',
      // 02:30 does not exist on 30 March: it fires at the jump, 03:00 CEST.
      '2025-03-30T01:00:00.000Z  2025-03-30T03:00:00+02:00',
      '2025-03-31T00:30:00.000Z  2025-03-31T02:30:00+02:00',
    ]);
  });

  it('prints JSON with --json, ten times by default, in the expression\'s own zone', async () => {
    const r = await berth(['schedule', 'preview', 'TZ=America/New_York cron(0 9 ? * MON#1 *)', '--from', '2025-01-01T00:00:00Z', '--json']);
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout);
    expect(body.fires).toHaveLength(10);
    expect(body.fires[0]).toEqual({ utc: '2025-01-06T14:00:00.000Z', local: '2025-01-06T09:00:00-05:00', time_zone: 'America/New_York' });
    expect(body.fires[3]).toEqual({ utc: '2025-04-07T13:00:00.000Z', local: '2025-04-07T09:00:00-04:00', time_zone: 'America/New_York' });
  });

  it('takes seconds in a rate', async () => {
    const r = await berth(['schedule', 'preview', 'rate(30 seconds)', '-n', '2', '--from', '2025-01-01T00:00:10Z']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['UTC', '2025-01-01T00:00:30.000Z', '2025-01-01T00:01:00.000Z']);
  });

  it('refuses an invalid expression with exit code 2 and the field that is wrong', async () => {
    const r = await berth(['schedule', 'preview', 'cron(0 12 ? * MON#6 *)']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('invalid schedule "cron(0 12 ? * MON#6 *)": day-of-week field "MON#6"');
    const bad = await berth(['schedule', 'preview', '0 25 * * *']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/hour/);
    const zone = await berth(['schedule', 'preview', '0 3 * * *', '--tz', 'Mars/Olympus']);
    expect(zone.code).toBe(2);
    expect(zone.stderr).toContain('unknown timezone "Mars/Olympus"');
  });
});
