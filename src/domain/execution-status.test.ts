import { describe, expect, it } from 'vitest';
import { EXECUTION_STATUSES, TERMINAL_STATUSES, TRANSITIONS, canTransition, statusesLeadingTo } from './execution-status.js';

describe('execution state machine', () => {
  it('terminal statuses lead nowhere, others lead somewhere', () => {
    for (const s of EXECUTION_STATUSES) {
      expect(TRANSITIONS[s].length === 0).toBe(TERMINAL_STATUSES.has(s));
    }
  });

  it('every status can be reached from QUEUED', () => {
    const seen = new Set(['QUEUED']);
    const queue = ['QUEUED'] as (typeof EXECUTION_STATUSES)[number][];
    for (let s = queue.shift(); s; s = queue.shift()) {
      for (const next of TRANSITIONS[s]) {
        if (seen.has(next)) continue;
        seen.add(next);
        queue.push(next);
      }
    }
    expect([...seen].sort()).toEqual([...EXECUTION_STATUSES].sort());
  });

  it('allows the lifecycle and refuses leaving a terminal status', () => {
    expect(canTransition('QUEUED', 'MANUALLY_STARTED')).toBe(true);
    expect(canTransition('RUNNING', 'STOPPING')).toBe(true);
    expect(canTransition('STOPPING', 'STOPPED')).toBe(true);
    expect(canTransition('SUCCEEDED', 'RUNNING')).toBe(false);
    expect(canTransition('SUCCEEDED', 'SUCCEEDED')).toBe(false);
    expect(canTransition('RUNNING', 'RUNNING')).toBe(true);
    expect(canTransition('QUEUED', 'STOPPING')).toBe(false);
    expect(statusesLeadingTo('STOPPING').sort()).toEqual(['MANUALLY_STARTED', 'RUNNING']);
  });
});
