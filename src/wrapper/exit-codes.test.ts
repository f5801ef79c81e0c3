import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { conventionalExitCode, EXIT, EXIT_CODE_TABLE, exitCodeFor, finishStatusFor, isRetryable } from './exit-codes.js';
import type { RunOutcome } from './exit-codes.js';

const exited = (exitCode: number): RunOutcome => ({ end: { type: 'exited', exitCode }, terminatedFor: null });

describe('exit codes', () => {
  it("passes the command's own code through", () => {
    expect(exitCodeFor(exited(0))).toBe(0);
    expect(exitCodeFor(exited(3))).toBe(3);
    expect(finishStatusFor(exited(0))).toBe('SUCCEEDED');
    expect(finishStatusFor(exited(3))).toBe('FAILED');
  });

  it('maps signals, timeouts, stops, aborts and spawn failures', () => {
    const killed: RunOutcome = { end: { type: 'signaled', signal: 'SIGKILL' }, terminatedFor: null };
    expect(exitCodeFor(killed)).toBe(137);
    expect(conventionalExitCode(killed.end)).toBe(137);
    expect(finishStatusFor(killed)).toBe('FAILED');

    const timedOut: RunOutcome = { end: { type: 'signaled', signal: 'SIGTERM' }, terminatedFor: { type: 'timeout' } };
    expect(exitCodeFor(timedOut)).toBe(EXIT.TIMED_OUT);
    expect(finishStatusFor(timedOut)).toBe('TERMINATED_AFTER_TIME_OUT');

    const stopped: RunOutcome = { end: { type: 'exited', exitCode: 0 }, terminatedFor: { type: 'stop' } };
    expect(exitCodeFor(stopped)).toBe(EXIT.STOPPED);
    expect(finishStatusFor(stopped)).toBeNull();

    const aborted: RunOutcome = { end: { type: 'exited', exitCode: 0 }, terminatedFor: { type: 'abort', signal: 'SIGINT' } };
    expect(exitCodeFor(aborted)).toBe(130);
    expect(finishStatusFor(aborted)).toBe('ABORTED');

    expect(exitCodeFor({ end: { type: 'spawn_failed', errno: 'ENOENT', message: '' }, terminatedFor: null })).toBe(EXIT.NOT_FOUND);
    expect(exitCodeFor({ end: { type: 'spawn_failed', errno: 'EACCES', message: '' }, terminatedFor: null })).toBe(EXIT.CANNOT_EXECUTE);
  });

  it('retries failures, not successes, spawn failures, stops or aborts; timeouts only when asked', () => {
    expect(isRetryable(exited(1), false)).toBe(true);
    expect(isRetryable(exited(0), true)).toBe(false);
    expect(isRetryable({ end: { type: 'spawn_failed', errno: 'ENOENT', message: '' }, terminatedFor: null }, true)).toBe(false);
    const timedOut: RunOutcome = { end: { type: 'signaled', signal: 'SIGTERM' }, terminatedFor: { type: 'timeout' } };
    expect(isRetryable(timedOut, false)).toBe(false);
    expect(isRetryable(timedOut, true)).toBe(true);
    expect(isRetryable({ end: { type: 'exited', exitCode: 1 }, terminatedFor: { type: 'stop' } }, true)).toBe(false);
  });

  it('has every code in the table of docs/berth-wrap.md, and nothing else', () => {
    const doc = fs.readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/berth-wrap.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## Exit codes'));
    const documented = [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]);
    expect(documented).toEqual(EXIT_CODE_TABLE.map((row) => row.code));
    for (const code of Object.values(EXIT)) expect(documented).toContain(String(code));
  });
});
