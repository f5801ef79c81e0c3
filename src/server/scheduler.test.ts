import { describe, expect, it } from 'vitest';
import { parseSchedule } from '../domain/schedule.js';
import type { Schedule } from '../domain/schedule.js';
import { decideFire, MISSED_AFTER_MS } from './scheduler.js';

const at = (iso: string) => Date.parse(iso);
function parsed(text: string): Schedule {
  const r = parseSchedule(text);
  if (!r.ok) throw new Error(r.error);
  return r.schedule;
}

describe('decideFire: one decision per due schedule, never a burst', () => {
  const hourly = parsed('0 * * * *');
  const base = { schedule: hourly, missed: 'run_once', overlap: 'skip', inProgress: 0 } as const;

  it('starts a fire on time and moves to the next fire time', () => {
    expect(decideFire({ ...base, storedNextFireAt: at('2025-01-01T01:00:00Z'), now: at('2025-01-01T01:00:00.300Z') })).toEqual({
      outcome: 'started',
      fireAt: at('2025-01-01T01:00:00Z'),
      covered: 1,
      nextFireAt: at('2025-01-01T02:00:00Z'),
    });
  });

  it('folds every fire due since the stored one into one decision for the latest', () => {
    const d = decideFire({ ...base, storedNextFireAt: at('2025-01-01T01:00:00Z'), now: at('2025-01-01T05:30:00Z') });
    expect(d).toEqual({ outcome: 'started', fireAt: at('2025-01-01T05:00:00Z'), covered: 5, nextFireAt: at('2025-01-01T06:00:00Z') });
    expect(decideFire({ ...base, missed: 'skip', storedNextFireAt: at('2025-01-01T01:00:00Z'), now: at('2025-01-01T05:30:00Z') }).outcome).toBe('skipped_missed');
  });

  it(`counts a fire as missed only when more than ${MISSED_AFTER_MS / 1000} s late`, () => {
    const stored = at('2025-01-01T01:00:00Z');
    expect(decideFire({ ...base, missed: 'skip', storedNextFireAt: stored, now: stored + MISSED_AFTER_MS }).outcome).toBe('started');
    expect(decideFire({ ...base, missed: 'skip', storedNextFireAt: stored, now: stored + MISSED_AFTER_MS + 1 }).outcome).toBe('skipped_missed');
  });

  it('skips while a run is in progress with overlap skip, starts with queue', () => {
    const stored = at('2025-01-01T01:00:00Z');
    expect(decideFire({ ...base, inProgress: 1, storedNextFireAt: stored, now: stored }).outcome).toBe('skipped_overlap');
    expect(decideFire({ ...base, overlap: 'queue', inProgress: 3, storedNextFireAt: stored, now: stored }).outcome).toBe('started');
  });

  it('counts covered rate fires arithmetically (a day of rate(1 second) is cheap)', () => {
    const d = decideFire({ ...base, schedule: parsed('rate(1 second)'), storedNextFireAt: at('2025-01-01T00:00:01Z'), now: at('2025-01-02T00:00:00.500Z') });
    expect(d).toMatchObject({ fireAt: at('2025-01-02T00:00:00Z'), covered: 86_400, nextFireAt: at('2025-01-02T00:00:01Z') });
  });
});
