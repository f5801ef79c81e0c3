import { describe, expect, it } from 'vitest';
import { formatIssues } from './common.js';
import {
  decideLivenessOutcome,
  dueExpectedRun,
  heartbeatLatenessSeconds,
  heartbeatTimeoutMs,
  lastSignOfLife,
  missingHeartbeatFailure,
  scheduleLatenessSeconds,
  startDeadlineFailure,
  startDeadlineSeconds,
} from './liveness.js';
import type { LivenessSnapshot } from './liveness.js';
import { parseSchedule } from './schedule.js';
import type { Schedule } from './schedule.js';
import { TaskSpec } from './task.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();
const schedule = (text: string): Schedule => {
  const r = parseSchedule(text);
  if (!r.ok) throw new Error(r.error);
  return r.schedule;
};

describe('effective settings', () => {
  it('defaults the heartbeat lateness to the interval, at least 60 s; no interval, no check', () => {
    expect(heartbeatLatenessSeconds({ heartbeat_interval_seconds: null })).toBeNull();
    expect(heartbeatTimeoutMs({})).toBeNull();
    expect(heartbeatLatenessSeconds({ heartbeat_interval_seconds: 10 })).toBe(60);
    expect(heartbeatLatenessSeconds({ heartbeat_interval_seconds: 300 })).toBe(300);
    expect(heartbeatLatenessSeconds({ heartbeat_interval_seconds: 10, max_heartbeat_lateness_seconds: 0 })).toBe(0);
    expect(heartbeatTimeoutMs({ heartbeat_interval_seconds: 30, max_heartbeat_lateness_seconds: 15 })).toBe(45_000);
  });

  it('chooses the start deadline by executor unless the Task sets one', () => {
    expect(startDeadlineSeconds({}, 'local')).toBe(60);
    expect(startDeadlineSeconds({}, 'aws-ecs')).toBe(600);
    expect(startDeadlineSeconds({}, null)).toBe(600);
    expect(startDeadlineSeconds({ start_deadline_seconds: 5 }, 'aws-ecs')).toBe(5);
    expect(scheduleLatenessSeconds({})).toBe(600);
    expect(scheduleLatenessSeconds({ max_schedule_lateness_seconds: 30 })).toBe(30);
  });

  it('takes the latest of heartbeat, start and creation as the last sign of life', () => {
    expect(lastSignOfLife({ last_heartbeat_at: null, started_at: null, created_at: 5 })).toBe(5);
    expect(lastSignOfLife({ last_heartbeat_at: 7, started_at: 9, created_at: 5 })).toBe(9); // a retry started after the old heartbeat
    expect(lastSignOfLife({ last_heartbeat_at: 12, started_at: 9, created_at: 5 })).toBe(12);
  });
});

describe('Task fields', () => {
  const base = { name: 't', run_environment: 'local', command: 'true' };
  const issues = (extra: Record<string, unknown>) => {
    const r = TaskSpec.safeParse({ ...base, ...extra });
    return r.success ? [] : formatIssues(r.error);
  };

  it('validates the schedule with its own messages, on the schedule path', () => {
    expect(issues({ schedule: '0 25 * * *' })).toEqual([{ path: 'schedule', code: 'custom', message: 'hour field "25": 25 is out of range 0–23' }]);
    expect(issues({ schedule: '' })[0]).toMatchObject({ path: 'schedule', message: expect.stringMatching(/must not be empty/) });
    expect(issues({ schedule: 'TZ=Europe/Paris 0 3 * * *', passive: true })).toEqual([]);
    expect(TaskSpec.parse({ ...base, schedule: ' @daily ' }).schedule).toBe('@daily');
  });

  it('needs an interval for a heartbeat lateness, and bounds every new field', () => {
    expect(issues({ max_heartbeat_lateness_seconds: 30 })).toEqual([
      {
        path: 'max_heartbeat_lateness_seconds',
        code: 'custom',
        message: 'max_heartbeat_lateness_seconds needs heartbeat_interval_seconds: without an interval no heartbeat is expected, so none can be late',
      },
    ]);
    expect(issues({ heartbeat_interval_seconds: 30, max_heartbeat_lateness_seconds: 30 })).toEqual([]);
    expect(issues({ heartbeat_interval_seconds: 0 })[0]?.message).toMatch(/more than 0/);
    expect(issues({ heartbeat_interval_seconds: 1.5 })[0]?.message).toMatch(/whole number of seconds/);
    expect(issues({ start_deadline_seconds: 0 })[0]?.message).toMatch(/start_deadline_seconds must be more than 0/);
    expect(issues({ start_deadline_seconds: 100_000 })[0]?.message).toMatch(/at most 86400/);
    expect(issues({ max_schedule_lateness_seconds: 5 })[0]?.message).toMatch(/at least 10 seconds/);
    expect(TaskSpec.parse(base)).toMatchObject({
      heartbeat_interval_seconds: null,
      max_heartbeat_lateness_seconds: null,
      start_deadline_seconds: null,
      max_schedule_lateness_seconds: 600,
    });
  });
});

describe('dueExpectedRun', () => {
  const daily = schedule('0 3 * * *');

  it('returns the latest fire time whose lateness window has passed', () => {
    const watchedSince = at('2024-05-01T00:00:00Z');
    // 03:05 on 2 May: the 03:00 run still has 5 of its 10 minutes; the one of 1 May is due.
    expect(dueExpectedRun({ schedule: daily, now: at('2024-05-02T03:05:00Z'), latenessSeconds: 600, watchedSince, lastRunAt: null })).toEqual({
      expectedAt: at('2024-05-01T03:00:00Z'),
      windowStart: at('2024-05-01T02:59:00Z'),
      windowEnd: at('2024-05-01T03:10:00Z'),
    });
    const due = dueExpectedRun({ schedule: daily, now: at('2024-05-02T03:10:00Z'), latenessSeconds: 600, watchedSince, lastRunAt: null });
    expect(iso(due!.expectedAt)).toBe('2024-05-02T03:00:00.000Z');
  });

  it('expects nothing before the Task (with its schedule) was written', () => {
    const watchedSince = at('2024-05-01T03:00:00Z');
    expect(dueExpectedRun({ schedule: daily, now: at('2024-05-02T03:09:59Z'), latenessSeconds: 600, watchedSince, lastRunAt: null })).toBeNull();
  });

  it('allows an early arrival of at most a minute, or half the gap between frequent runs', () => {
    const every = schedule('*/1 * * * *');
    const due = dueExpectedRun({ schedule: every, now: at('2024-05-01T12:00:00Z'), latenessSeconds: 10, watchedSince: 0, lastRunAt: null })!;
    expect(due.expectedAt - due.windowStart).toBe(30_000);
  });

  it('expects a rate(...) run one period after the latest run, and one more every period after that', () => {
    const rate = schedule('rate(1 hour)');
    const lastRunAt = at('2024-05-01T10:17:00Z');
    const q = { schedule: rate, latenessSeconds: 600, watchedSince: 0, lastRunAt };
    expect(dueExpectedRun({ ...q, now: at('2024-05-01T11:26:59Z') })).toBeNull();
    expect(iso(dueExpectedRun({ ...q, now: at('2024-05-01T11:27:00Z') })!.expectedAt)).toBe('2024-05-01T11:17:00.000Z');
    expect(iso(dueExpectedRun({ ...q, now: at('2024-05-01T13:40:00Z') })!.expectedAt)).toBe('2024-05-01T13:17:00.000Z');
    // No run yet: from when the Task was written.
    const fresh = dueExpectedRun({ ...q, lastRunAt: null, watchedSince: at('2024-05-01T09:00:00Z'), now: at('2024-05-01T10:10:00Z') });
    expect(iso(fresh!.expectedAt)).toBe('2024-05-01T10:00:00.000Z');
  });
});

describe('failures and outcomes', () => {
  it('writes failures that say what was seen and what to check', () => {
    const reported = missingHeartbeatFailure({
      lastSeenAt: at('2024-05-01T10:00:00Z'),
      everHeartbeat: true,
      now: at('2024-05-01T10:03:00Z'),
      intervalSeconds: 60,
      latenessSeconds: 60,
      launchedByBerth: false,
    });
    expect(reported).toMatchObject({ type: 'MISSING_HEARTBEAT', code: 'MISSING_HEARTBEAT', fault: 'infrastructure' });
    expect(reported.message).toContain('The last heartbeat arrived at 2024-05-01T10:00:00.000Z (3 min ago)');
    expect(reported.message).toContain('every 60 s, at most 60 s late');
    expect(reported.message).toMatch(/refused \(409\)/);
    expect(reported.message).toMatch(/raise max_heartbeat_lateness_seconds/);
    const launched = missingHeartbeatFailure({ ...{ lastSeenAt: 0, everHeartbeat: false, now: 200_000, intervalSeconds: 60, latenessSeconds: 60 }, launchedByBerth: true });
    expect(launched.message).toMatch(/^No heartbeat arrived since it started/);
    expect(launched.message).toMatch(/Berth stopped the process/);

    const ecs = startDeadlineFailure({ deadlineSeconds: 600, executorKind: 'aws-ecs', accepted: true });
    expect(ecs).toMatchObject({ type: 'START_FAILED', code: 'START_DEADLINE_EXCEEDED', fault: 'infrastructure' });
    expect(ecs.message).toMatch(/within its start deadline of 600 s, so Berth stopped it.*PROVISIONING or PENDING.*raise start_deadline_seconds/);
    expect(startDeadlineFailure({ deadlineSeconds: 60, executorKind: null, accepted: false }).message).toMatch(/gave up on it\. Nothing reported it RUNNING/);
    expect(startDeadlineFailure({ deadlineSeconds: 60, executorKind: 'local', accepted: false }).message).toMatch(/never confirmed the start/);
  });

  const policy = { max_retries: 1, retry_delay_seconds: 10, retry_backoff_multiplier: 1, max_retry_delay_seconds: null, retry_on_timeout: false };
  const snapshot = (extra: Partial<LivenessSnapshot>): LivenessSnapshot => ({
    status: 'STOPPING',
    stop_reason: null,
    attempt: 1,
    failed_attempts: 0,
    timed_out_attempts: 0,
    failure: null,
    ...extra,
  });
  const killed = { kind: 'exited', exitCode: null, signal: 'SIGTERM', timedOut: false, failure: null } as const;

  it('leaves attempts without a liveness stop to decideAttemptOutcome', () => {
    expect(decideLivenessOutcome(snapshot({ stop_reason: 'MANUAL' }), killed, policy, 0)).toBeNull();
    expect(decideLivenessOutcome(snapshot({ status: 'MARKED_DONE', stop_reason: 'MISSING_HEARTBEAT' }), killed, policy, 0)).toBeNull();
  });

  it('ABANDONS an attempt stopped for a missing heartbeat, whatever its exit, never retried', () => {
    const failure = missingHeartbeatFailure({ lastSeenAt: 0, everHeartbeat: true, now: 1, intervalSeconds: 1, latenessSeconds: 1, launchedByBerth: true });
    const outcome = decideLivenessOutcome(
      snapshot({ stop_reason: 'MISSING_HEARTBEAT', failure }),
      { ...killed, exitCode: 0, signal: null },
      policy,
      0,
    );
    expect(outcome).toMatchObject({ attemptStatus: 'ABANDONED', stopReason: 'MISSING_HEARTBEAT', failure, retry: null, exitCode: 0, failedAttempts: 0 });
  });

  it('FAILS an attempt stopped at its start deadline, retried by policy, preferring the executor\'s own reason', () => {
    const failure = startDeadlineFailure({ deadlineSeconds: 600, executorKind: 'aws-ecs', accepted: true });
    const retried = decideLivenessOutcome(snapshot({ stop_reason: 'FAILED_TO_START', failure }), killed, policy, 1000);
    expect(retried).toMatchObject({ attemptStatus: 'FAILED', failure, stopReason: null, failedAttempts: 1, retry: { launchAfter: 11_000 } });
    const last = decideLivenessOutcome(snapshot({ stop_reason: 'FAILED_TO_START', failure, attempt: 2 }), { kind: 'lost', message: 'gone' }, policy, 0);
    expect(last).toMatchObject({ attemptStatus: 'FAILED', stopReason: 'FAILED_TO_START', retry: null });
    const pull = { type: 'START_FAILED', code: 'CannotPullContainerError', message: 'The image could not be pulled.', fault: 'config' } as const;
    const precise = decideLivenessOutcome(snapshot({ stop_reason: 'FAILED_TO_START', failure }), { kind: 'start_failed', failure: pull }, policy, 0);
    // A configuration problem fails the same way again: no retry.
    expect(precise).toMatchObject({ attemptStatus: 'FAILED', failure: pull, retry: null, stopReason: 'FAILED_TO_START' });
  });
});
