import { describe, expect, it } from 'vitest';
import { capLogTail, finalStatusOf, parseWireTime, WireTime, wrapperInfoOf } from './wrapper-report.js';

describe('parseWireTime', () => {
  it('reads ISO-8601 times with an offset, and times without one as UTC (what Python sends)', () => {
    expect(parseWireTime('2024-05-01T12:00:00Z')).toBe(Date.UTC(2024, 4, 1, 12));
    expect(parseWireTime('2024-05-01T14:00:00+02:00')).toBe(Date.UTC(2024, 4, 1, 12));
    expect(parseWireTime('2024-05-01T12:00:00.123456')).toBe(Date.UTC(2024, 4, 1, 12, 0, 0, 123));
    expect(parseWireTime('2024-05-01T12:00:00.5+00:00')).toBe(Date.UTC(2024, 4, 1, 12, 0, 0, 500));
  });

  it('refuses what is not a time, with a message that shows the format', () => {
    for (const bad of ['yesterday', '2024-05-01', '2024-13-01T00:00:00Z', '']) expect(parseWireTime(bad), bad).toBeNull();
    expect(WireTime.safeParse('soon').error?.issues[0]?.message).toMatch(/ISO-8601 .*2024-05-01T12:00:00Z/);
  });
});

describe('capLogTail', () => {
  it('keeps a short tail as it is', () => {
    expect(capLogTail('line 1\nline 2\n', 100)).toBe('line 1\nline 2\n');
  });

  it('keeps the end of a long tail within the limit, marked as cut, never splitting a character', () => {
    const text = `${'début '.repeat(50)}\nthe end é€😀\n`;
    const capped = capLogTail(text, 120);
    expect(Buffer.byteLength(capped, 'utf8')).toBeLessThanOrEqual(120);
    expect(capped).toMatch(/^\[… cut by Berth: this tail had \d+ bytes; the end is kept\]\n/);
    expect(capped.endsWith('the end é€😀\n')).toBe(true);
    expect(capped).not.toContain('\uFFFD');
    const big = capLogTail('x'.repeat(200_000));
    expect(Buffer.byteLength(big, 'utf8')).toBeLessThanOrEqual(64 * 1024);
    expect(big.endsWith('x'.repeat(60_000))).toBe(true);
  });
});

describe('wrapper info and reports', () => {
  it('keeps what the wrapper says about itself, not its command line', () => {
    expect(wrapperInfoOf({ wrapper_version: '6.0.1', hostname: 'h', process_command: 'run --password=x', success_count: 3 })).toEqual({
      wrapper_version: '6.0.1',
      hostname: 'h',
    });
    expect(wrapperInfoOf({ success_count: 3 })).toBeNull();
  });

  it('treats only the wrapper statuses that end a run as final', () => {
    expect(finalStatusOf({ status: 'FAILED' })).toBe('FAILED');
    expect(finalStatusOf({ status: 'RUNNING' })).toBeNull();
    expect(finalStatusOf({ status: 'STOPPED' })).toBeNull();
    expect(finalStatusOf(null)).toBeNull();
  });
});
