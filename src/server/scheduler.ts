import { schedulesInEventBridge } from '../domain/run-environment.js';
import { BerthError, coerceError } from '../domain/errors.js';
import { ACTIVE_STATUSES } from '../domain/execution-status.js';
import type { RunReason } from '../domain/execution-status.js';
import { nextFireTime, parseSchedule, previousFireTime } from '../domain/schedule.js';
import type { Schedule } from '../domain/schedule.js';
import type { ScheduleMissedPolicy, ScheduleOverlapPolicy } from '../domain/task.js';
import type { StartExecutionRequest } from '../domain/task-execution.js';
import type { ScheduleFireRecord, ScheduleStateRecord, Store } from '../store/store.js';
import type { WorkflowExecutionRecord } from '../store/workflow-store.js';
import { Principal } from './auth.js';
import type { ServerContext } from './context.js';
import { raiseEvent } from './event-recorder.js';
import { ExecutionService } from './execution-service.js';
import { Loop, LoopRunner } from './loop.js';
import type { WorkflowService } from './workflow-service.js';

export interface SchedulerOptions {
  /** Longest sleep between passes, in ms (it wakes sooner for the next due fire). */
  intervalMs: number;
}

/**
 * A fire found more than this late was missed (every server was down, or far behind): the
 * `schedule_missed` policy decides whether it still runs (once, for all missed fires together).
 */
export const MISSED_AFTER_MS = 60_000;
/** Shortest sleep between passes, in ms. */
const MIN_SLEEP_MS = 20;
/** Due schedules handled per pass; more make the loop run again at once. */
const BATCH = 200;
/** Targets without a `schedules` row (stored before the scheduler existed) synced per pass. */
const SYNC_BATCH = 500;

const SCHEDULER = new Principal('admin', null);
const iso = (ms: number) => new Date(ms).toISOString();

/** What the scheduler decided for one due schedule. */
export interface FireDecision {
  outcome: ScheduleFireRecord['outcome'];
  /** The fire time acted for: the latest due one. */
  fireAt: number;
  /** How many due fire times the decision covers (1 unless fires were missed or a pass was slow). */
  covered: number;
  /** The schedule's next fire time after this decision. */
  nextFireAt: number | null;
}

/**
 * The fires of a schedule due at `now` (its stored next fire time is at or before `now`), folded
 * into one decision: at most one run per schedule per pass, never a burst. Pure.
 *
 * - The fire acted for is the latest due one; earlier due ones are covered by it.
 * - It is missed when it is more than MISSED_AFTER_MS late: `skip` records it skipped, `run_once`
 *   runs once for it and every earlier due fire.
 * - Otherwise, when the overlap policy is `skip` and an earlier run is still in progress, the fire
 *   is skipped.
 */
export function decideFire(input: {
  schedule: Schedule;
  storedNextFireAt: number;
  now: number;
  missed: ScheduleMissedPolicy;
  overlap: ScheduleOverlapPolicy;
  inProgress: number;
}): FireDecision {
  const { schedule, storedNextFireAt, now } = input;
  const latest = Math.max(storedNextFireAt, previousFireTime(schedule, now) ?? storedNextFireAt);
  const covered = countFires(schedule, storedNextFireAt, latest);
  const nextFireAt = nextFireTime(schedule, now);
  let outcome: FireDecision['outcome'] = 'started';
  if (now - latest > MISSED_AFTER_MS && input.missed === 'skip') outcome = 'skipped_missed';
  else if (input.overlap === 'skip' && input.inProgress > 0) outcome = 'skipped_overlap';
  return { outcome, fireAt: latest, covered, nextFireAt };
}

/** Fire times in [from, to] (both fire times), counted up to a cap so a long downtime stays cheap. */
function countFires(schedule: Schedule, from: number, to: number): number {
  if (to <= from) return 1;
  if (schedule.kind === 'rate') return Math.round((to - from) / schedule.periodMs) + 1;
  let n = 1;
  let t = from;
  while (n < 10_000) {
    const next = nextFireTime(schedule, t);
    if (next === null || next > to) break;
    n++;
    t = next;
  }
  return n;
}

function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * The scheduler: starts non-passive, enabled Tasks and Workflows on their `schedule`
 * (docs/schedules.md).
 *
 * Each scheduled target has a row in `schedules` with its next fire time, kept in step with its
 * spec by the store (a changed expression restarts from the time of the change). A pass reads
 * the due rows through the `next_fire_at` index and, for each, in one transaction: moves the
 * next fire time on by compare-and-set (the server whose update matches the old value owns the
 * fire; on PostgreSQL a concurrent one waits for it to commit, then matches nothing), creates
 * the execution (or Workflow Execution) with run reason SCHEDULED_START, and records the fire in
 * `schedule_fires`, whose primary key (target, fire time) refuses a second decision for the same
 * fire. So every fire is acted on once however many servers share the database.
 *
 * Between passes it sleeps until the earliest next fire time (at most `intervalMs`), and wakes at
 * once when this server changes a schedule.
 */
export class Scheduler extends LoopRunner {
  protected readonly loop: Loop;
  /** Fires this server acted on, for tests and health: started, skipped, failed. */
  readonly counts = { started: 0, skipped: 0, failed: 0, lost: 0 };
  private synced = false;

  constructor(
    private readonly ctx: ServerContext,
    private readonly workflows: WorkflowService,
    options: SchedulerOptions,
  ) {
    super();
    this.loop = new Loop('scheduler', options.intervalMs, () => this.pass(), ctx.log);
  }

  /** One pass: fires what is due. True when a full batch was due (run again at once), else ms to sleep. */
  async pass(): Promise<boolean | number> {
    if (!this.synced) await this.syncUnscheduled();
    const now = this.ctx.clock.now();
    const due = await this.ctx.store.listDueSchedules(now, BATCH);
    // Servers that wake together start at different rows, so they decide fires side by side
    // rather than queueing on the same row locks.
    for (const state of shuffled(due)) {
      try {
        // The time of this decision (later than the pass's start in a large batch).
        await this.fire(state, this.ctx.clock.now());
      } catch (thrown) {
        this.ctx.log.error('scheduled fire failed', { target: state.target_uuid, kind: state.target_kind, error: coerceError(thrown) });
      }
    }
    if (due.length >= BATCH) return true;
    const next = await this.ctx.store.nextScheduleFireAt();
    // Real time to sleep: the clock may be a test's; the loop caps it at intervalMs.
    // A row still due (its fire failed, or another server's decision is not committed yet) is
    // looked at again after a short pause rather than in a tight loop.
    return next === null ? Number.MAX_SAFE_INTEGER : Math.max(MIN_SLEEP_MS, next - this.ctx.clock.now());
  }

  /** Gives Tasks and Workflows stored before the scheduler existed their `schedules` row. */
  private async syncUnscheduled(): Promise<void> {
    for (;;) {
      const targets = await this.ctx.store.listUnsyncedScheduleTargets(SYNC_BATCH);
      for (const t of targets) await this.ctx.store.syncSchedule(t.kind, t.uuid, t.expression, this.ctx.clock.now());
      if (targets.length < SYNC_BATCH) break;
    }
    this.synced = true;
  }

  private async fire(state: ScheduleStateRecord, now: number): Promise<void> {
    const parsed = parseSchedule(state.expression);
    if (!parsed.ok) {
      // Cannot happen through the API (schedules are validated); stop looking at it.
      this.ctx.log.warn('schedule no longer parses; it will not fire until it is changed', { target: state.target_uuid, error: parsed.error });
      await this.ctx.store.advanceSchedule(state, null, now);
      return;
    }
    if (state.target_kind === 'task') await this.fireTask(state, parsed.schedule, now);
    else await this.fireWorkflow(state, parsed.schedule, now);
  }

  private async fireTask(state: ScheduleStateRecord, schedule: Schedule, now: number): Promise<void> {
    const store = this.ctx.store;
    const task = await store.getTask(state.target_uuid);
    // A Run Environment with schedules: eventbridge has EventBridge fire its Tasks, never Berth.
    const env = task ? await store.getRunEnvironment(task.run_environment_uuid) : null;
    const inEventBridge = env !== null && schedulesInEventBridge(env.spec);
    if (!task || task.spec.passive || !task.spec.enabled || task.spec.schedule !== state.expression || inEventBridge) {
      // Out of step with the Task (changed without the store's sync): bring it back in step.
      const expression = task && !task.spec.passive && task.spec.enabled && !inEventBridge ? task.spec.schedule : null;
      await store.syncSchedule('task', state.target_uuid, expression, now);
      return;
    }
    const decision = await store.transaction(async (tx) => {
      const inProgress = await tx.countExecutions(task.uuid, ['QUEUED', ...ACTIVE_STATUSES]);
      const d = decideFire({
        schedule,
        storedNextFireAt: state.next_fire_at!,
        now,
        missed: task.spec.schedule_missed ?? 'run_once',
        overlap: task.spec.schedule_overlap ?? 'skip',
        inProgress,
      });
      if (!(await tx.advanceSchedule(state, d.nextFireAt, now))) return null;
      let outcome = d.outcome;
      let executionUuid: string | null = null;
      if (outcome === 'started') {
        const service = new ExecutionService({ ...this.ctx, store: tx, wakeLauncher: () => undefined });
        const request: Omit<StartExecutionRequest, 'run_reason'> & { run_reason: RunReason } = {
          task: { uuid: task.uuid },
          run_reason: 'SCHEDULED_START',
        };
        try {
          const { execution } = await service.startWithContext(request as StartExecutionRequest, SCHEDULER);
          executionUuid = execution.uuid;
        } catch (thrown) {
          // A refusal (max_concurrency with reject, the executor off on this server) is the
          // fire's outcome; anything else rolls the fire back, to be tried again.
          if (!(thrown instanceof BerthError)) throw thrown;
          outcome = 'failed';
          this.ctx.log.warn('scheduled start refused', { task: task.name, fire_at: iso(d.fireAt), error: coerceError(thrown).message });
        }
      }
      await tx.recordScheduleFire(this.fireRecord(state, d, outcome, executionUuid, now));
      if (outcome === 'failed' || outcome === 'skipped_missed') {
        // The scheduled run did not happen: a missed scheduled run, notified like a passive Task's.
        await raiseEvent(tx, now, {
          type: 'MISSED_SCHEDULED_RUN',
          task: { uuid: task.uuid, name: task.name },
          message:
            outcome === 'failed'
              ? `Task "${task.name}" was scheduled to start at ${iso(d.fireAt)}, but the start was refused; see the server log or \`berth schedule\` for why.`
              : `Task "${task.name}" was scheduled to start at ${iso(d.fireAt)}, but no server was running then and its schedule_missed is skip.`,
          details: { expected_at: iso(d.fireAt), schedule: state.expression, outcome, covered: d.covered },
          dedupe_key: `MISSED_SCHEDULED_RUN:${task.uuid}:${iso(d.fireAt)}`,
        });
      }
      return { ...d, outcome };
    });
    this.noteDecision(decision, state, task.name);
    if (decision?.outcome === 'started') this.ctx.wakeLauncher();
  }

  private async fireWorkflow(state: ScheduleStateRecord, schedule: Schedule, now: number): Promise<void> {
    const store = this.ctx.store;
    const workflow = await store.workflows.getWorkflow(state.target_uuid);
    if (!workflow || workflow.spec.schedule !== state.expression) {
      await store.syncSchedule('workflow', state.target_uuid, workflow?.spec.schedule ?? null, now);
      return;
    }
    const result = await store.transaction(async (tx: Store) => {
      const inProgress = await tx.workflows.countActiveWorkflowExecutions(workflow.uuid);
      const d = decideFire({
        schedule,
        storedNextFireAt: state.next_fire_at!,
        now,
        missed: workflow.spec.schedule_missed ?? 'run_once',
        overlap: workflow.spec.schedule_overlap ?? 'skip',
        inProgress,
      });
      if (!(await tx.advanceSchedule(state, d.nextFireAt, now))) return null;
      const created: WorkflowExecutionRecord | null =
        d.outcome === 'started' ? await this.workflows.createStartedExecution(tx, workflow, { runReason: 'SCHEDULED_START' }) : null;
      await tx.recordScheduleFire(this.fireRecord(state, d, d.outcome, created?.uuid ?? null, now));
      return { decision: d, created };
    });
    this.noteDecision(result?.decision ?? null, state, workflow.name);
    // Committed: start its first instances (the engine also picks it up on its own passes).
    if (result?.created) await this.workflows.advanceStarted(result.created);
  }

  private fireRecord(
    state: ScheduleStateRecord,
    d: FireDecision,
    outcome: ScheduleFireRecord['outcome'],
    executionUuid: string | null,
    now: number,
  ): ScheduleFireRecord {
    return {
      target_kind: state.target_kind,
      target_uuid: state.target_uuid,
      fire_at: d.fireAt,
      outcome,
      execution_uuid: executionUuid,
      covered: d.covered,
      decided_by: this.ctx.instanceId,
      created_at: now,
    };
  }

  private noteDecision(decision: FireDecision | null, state: ScheduleStateRecord, name: string): void {
    if (decision === null) {
      // Another server moved the schedule on first: it owns this fire.
      this.counts.lost++;
      return;
    }
    const fields = {
      [state.target_kind]: name,
      fire_at: iso(decision.fireAt),
      covered: decision.covered,
      next_fire_at: decision.nextFireAt === null ? null : iso(decision.nextFireAt),
    };
    if (decision.outcome === 'started') {
      this.counts.started++;
      this.ctx.log.debug('scheduled start', fields);
    } else if (decision.outcome === 'failed') {
      this.counts.failed++;
    } else {
      this.counts.skipped++;
      this.ctx.log.info(decision.outcome === 'skipped_missed' ? 'missed scheduled fires skipped' : 'scheduled fire skipped: still running', fields);
    }
  }
}
