import { describe, expect, it } from 'vitest';
import type { ExecutionStatus } from './execution-status.js';
import { WorkflowSpec } from './workflow.js';
import type { ExecutionFacts, WorkflowSpecInput } from './workflow.js';
import { currentRun, decideStart, evaluateWorkflow } from './workflow-state.js';
import type { RunFacts, WorkflowExecutionFacts } from './workflow-state.js';

const T0 = 1_700_000_000_000;

type InstanceInput = WorkflowSpecInput['task_instances'][number];
type TransitionInput = NonNullable<WorkflowSpecInput['transitions']>[number];

function workflow(instances: (string | InstanceInput)[], transitions: TransitionInput[] = [], extra: Partial<WorkflowSpecInput> = {}) {
  return WorkflowSpec.parse({
    name: 'w',
    task_instances: instances.map((i) => (typeof i === 'string' ? { task: i } : i)),
    transitions,
    ...extra,
  });
}

const edge = (from: string, to: string, on: TransitionInput['on'] = 'success', more: Record<string, unknown> = {}) =>
  ({ from, to, on, ...more }) as TransitionInput;

let counter = 0;
function execution(status: ExecutionStatus, more: Partial<ExecutionFacts> = {}): ExecutionFacts {
  counter++;
  return {
    uuid: `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`,
    status,
    exit_code: status === 'SUCCEEDED' ? 0 : status === 'FAILED' ? 1 : null,
    success_count: null,
    error_count: null,
    skipped_count: null,
    expected_count: null,
    attempt: 1,
    failed_attempts: status === 'FAILED' ? 1 : 0,
    timed_out_attempts: 0,
    started_at: T0,
    finished_at: ['QUEUED', 'MANUALLY_STARTED', 'RUNNING', 'STOPPING'].includes(status) ? null : T0 + 1000,
    stop_reason: null,
    last_status_message: null,
    output_value: null,
    ...more,
  };
}

/** Runs by instance: `{a: 'SUCCEEDED'}` or `{a: [run, run]}` or `{a: execution(...)}`. */
function runs(spec: Record<string, ExecutionStatus | ExecutionFacts | RunFacts[]>, attempt = 1): Map<string, RunFacts[]> {
  const out = new Map<string, RunFacts[]>();
  for (const [name, value] of Object.entries(spec)) {
    if (Array.isArray(value)) out.set(name, value);
    else {
      const facts = typeof value === 'string' ? execution(value) : value;
      out.set(name, [{ run_number: 1, workflow_attempt: attempt, execution: facts }]);
    }
  }
  return out;
}

function state(overrides: Partial<WorkflowExecutionFacts> = {}): WorkflowExecutionFacts {
  return { status: 'RUNNING', stop_reason: null, attempt: 1, attempt_started_at: T0, start_failures: {}, ...overrides };
}

function evaluate(spec: WorkflowSpec, byInstance: Map<string, RunFacts[]> = new Map(), wfe: Partial<WorkflowExecutionFacts> = {}, now = T0 + 5_000) {
  const result = evaluateWorkflow(spec, state(wfe), byInstance, now);
  const nodes = Object.fromEntries(result.nodes.map((n) => [n.name, n.state]));
  const edges = result.edges.map((e) => e.state);
  return { ...result, nodeStates: nodes, edgeStates: edges };
}

describe('start conditions (decideStart)', () => {
  const counts = (fired: number, not_fired: number, pending: number, v = 0) => ({ fired, not_fired, pending, void: v });

  it('starts an instance with no incoming transitions', () => {
    expect(decideStart('all', counts(0, 0, 0))).toBe('start');
    expect(decideStart({ count_at_least: 3 }, counts(0, 0, 0))).toBe('start');
  });

  it('all: every non-void transition fired; skipped as soon as one did not', () => {
    expect(decideStart('all', counts(2, 0, 0))).toBe('start');
    expect(decideStart('all', counts(1, 0, 1))).toBe('wait');
    expect(decideStart('all', counts(1, 1, 1))).toBe('skip');
    expect(decideStart('all', counts(1, 0, 0, 1))).toBe('start'); // the void one is left out
    expect(decideStart('all', counts(0, 0, 0, 2))).toBe('skip'); // all void: skipping propagates
  });

  it('any: the first fired transition starts it; skipped when none can fire', () => {
    expect(decideStart('any', counts(1, 0, 2))).toBe('start');
    expect(decideStart('any', counts(0, 2, 1))).toBe('wait');
    expect(decideStart('any', counts(0, 2, 0))).toBe('skip');
    expect(decideStart('any', counts(0, 1, 0, 1))).toBe('skip');
  });

  it('count_at_least N: N fired; skipped when fewer than N can', () => {
    const c = { count_at_least: 2 };
    expect(decideStart(c, counts(2, 1, 0))).toBe('start');
    expect(decideStart(c, counts(1, 0, 1))).toBe('wait');
    expect(decideStart(c, counts(1, 1, 0))).toBe('skip');
    expect(decideStart(c, counts(1, 0, 0, 1))).toBe('skip');
  });

  it('ratio_at_least R: fired over non-void reaches R whatever pending ones do; skipped when it cannot', () => {
    const half = { ratio_at_least: 0.5 };
    expect(decideStart(half, counts(2, 0, 2))).toBe('start'); // 2/4 even if both pending fail
    expect(decideStart(half, counts(1, 0, 3))).toBe('wait');
    expect(decideStart(half, counts(1, 3, 0))).toBe('skip');
    expect(decideStart(half, counts(0, 3, 1))).toBe('skip'); // at best 1/4
    expect(decideStart(half, counts(1, 1, 0, 2))).toBe('start'); // 1/2 once the void ones are left out
    expect(decideStart({ ratio_at_least: 0.3 }, counts(3, 7, 0))).toBe('start'); // 0.3 × 10 needs 3, not 4
    expect(decideStart({ ratio_at_least: 1 }, counts(2, 0, 1))).toBe('wait');
    expect(decideStart({ ratio_at_least: 0.01 }, counts(0, 0, 3))).toBe('wait'); // needs at least one
  });
});

describe('evaluateWorkflow', () => {
  const chain = workflow(['a', 'b', 'c'], [edge('a', 'b'), edge('b', 'c')]);

  it('starts the instances without incoming transitions first; independent branches together', () => {
    const spec = workflow(['a', 'b', 'c', 'd'], [edge('a', 'c'), edge('b', 'd')]);
    const step = evaluate(spec);
    expect(step.start).toEqual(expect.arrayContaining(['a', 'b']));
    expect(step.start).toHaveLength(2);
    expect(step.nodeStates).toEqual({ a: 'READY', b: 'READY', c: 'WAITING', d: 'WAITING' });
    expect(step.status).toBe('RUNNING');
  });

  it('starts the next instance when its transition fires, and never starts one twice', () => {
    expect(evaluate(chain, runs({ a: 'RUNNING' })).start).toEqual([]);
    const step = evaluate(chain, runs({ a: 'SUCCEEDED' }));
    expect(step.start).toEqual(['b']);
    expect(step.edgeStates).toEqual(['FIRED', 'PENDING']);
    expect(evaluate(chain, runs({ a: 'SUCCEEDED', b: 'QUEUED' })).start).toEqual([]);
  });

  it('succeeds when every instance succeeded', () => {
    const step = evaluate(chain, runs({ a: 'SUCCEEDED', b: 'SUCCEEDED', c: 'SUCCEEDED' }));
    expect(step).toMatchObject({ status: 'SUCCEEDED', finished: true, failure: null, start: [] });
  });

  it('skips what can no longer start, and skipping propagates down the chain', () => {
    const spec = workflow(['a', 'b', 'c', 'alert'], [edge('a', 'b'), edge('b', 'c'), edge('a', 'alert', 'failure')]);
    const step = evaluate(spec, runs({ a: 'SUCCEEDED' }));
    expect(step.nodeStates).toMatchObject({ b: 'READY', alert: 'SKIPPED' });
    const failed = evaluate(spec, runs({ a: 'FAILED' }));
    expect(failed.nodeStates).toEqual({ a: 'FAILED', b: 'SKIPPED', c: 'SKIPPED', alert: 'READY' });
    expect(failed.edgeStates).toEqual(['NOT_FIRED', 'VOID', 'FIRED']);
  });

  it('joins after exclusive branches: B on success, C on failure, D when whichever ran is done', () => {
    const spec = workflow(
      ['a', 'b', 'c', 'd'],
      [edge('a', 'b', 'success'), edge('a', 'c', 'failure'), edge('b', 'd', 'always'), edge('c', 'd', 'always')],
      { task_instances: [{ task: 'a', failure_behavior: 'ignore' }, { task: 'b' }, { task: 'c' }, { task: 'd' }] },
    );
    expect(evaluate(spec, runs({ a: 'SUCCEEDED', b: 'RUNNING' })).nodeStates).toMatchObject({ c: 'SKIPPED', d: 'WAITING' });
    expect(evaluate(spec, runs({ a: 'SUCCEEDED', b: 'SUCCEEDED' })).start).toEqual(['d']);
    expect(evaluate(spec, runs({ a: 'FAILED', c: 'FAILED' })).start).toEqual(['d']);
    const done = evaluate(spec, runs({ a: 'FAILED', c: 'SUCCEEDED', d: 'SUCCEEDED' }));
    expect(done.status).toBe('SUCCEEDED'); // a's failure is ignored (and was handled anyway)
  });

  it('waits for a join of two parallel branches that both run (all)', () => {
    const spec = workflow(['a', 'b', 'c', 'd'], [edge('a', 'b'), edge('a', 'c'), edge('b', 'd'), edge('c', 'd')]);
    expect(evaluate(spec, runs({ a: 'SUCCEEDED' })).start.sort()).toEqual(['b', 'c']);
    expect(evaluate(spec, runs({ a: 'SUCCEEDED', b: 'SUCCEEDED', c: 'RUNNING' })).nodeStates.d).toBe('WAITING');
    expect(evaluate(spec, runs({ a: 'SUCCEEDED', b: 'SUCCEEDED', c: 'SUCCEEDED' })).start).toEqual(['d']);
  });

  it('all: a join is skipped when one branch did not fire, and then the workflow fails on the unhandled failure', () => {
    const spec = workflow(['a', 'b', 'd'], [edge('a', 'd'), edge('b', 'd')]);
    const step = evaluate(spec, runs({ a: 'SUCCEEDED', b: 'FAILED' }));
    expect(step.nodeStates.d).toBe('SKIPPED');
    expect(step).toMatchObject({ status: 'FAILED', finished: true });
    expect(step.failure).toEqual({
      code: 'INSTANCE_FAILED',
      message: '"b" ended FAILED (exit code 1) and no transition handled it (failure_behavior: fail_if_unhandled).',
      instances: ['b'],
    });
  });

  it('any: starts on the first fired transition without waiting for the others', () => {
    const spec = workflow(['a', 'b', { task: 'd', start_condition: 'any' }], [edge('a', 'd'), edge('b', 'd')]);
    expect(evaluate(spec, runs({ a: 'SUCCEEDED', b: 'RUNNING' })).start).toEqual(['d']);
    expect(evaluate(spec, runs({ a: 'RUNNING', b: 'RUNNING' })).nodeStates.d).toBe('WAITING');
  });

  it('count_at_least: starts once enough fired, skipped once too few can', () => {
    const spec = workflow(
      ['a', 'b', 'c', { task: 'd', start_condition: { count_at_least: 2 } }],
      [edge('a', 'd'), edge('b', 'd'), edge('c', 'd')],
      {},
    );
    const ignoring = { ...spec, task_instances: spec.task_instances.map((i) => ({ ...i, failure_behavior: 'ignore' as const })) };
    expect(evaluate(ignoring, runs({ a: 'SUCCEEDED', b: 'RUNNING', c: 'RUNNING' })).nodeStates.d).toBe('WAITING');
    expect(evaluate(ignoring, runs({ a: 'SUCCEEDED', b: 'FAILED', c: 'SUCCEEDED' })).start).toEqual(['d']);
    expect(evaluate(ignoring, runs({ a: 'FAILED', b: 'FAILED', c: 'RUNNING' })).nodeStates.d).toBe('SKIPPED');
  });

  it('ratio_at_least: starts once the ratio is certain', () => {
    const spec = workflow(
      [...['a', 'b', 'c', 'e'].map((task) => ({ task, failure_behavior: 'ignore' as const })), { task: 'd', start_condition: { ratio_at_least: 0.75 } }],
      [edge('a', 'd'), edge('b', 'd'), edge('c', 'd'), edge('e', 'd')],
    );
    expect(evaluate(spec, runs({ a: 'SUCCEEDED', b: 'SUCCEEDED', c: 'RUNNING', e: 'RUNNING' })).nodeStates.d).toBe('WAITING');
    expect(evaluate(spec, runs({ a: 'SUCCEEDED', b: 'SUCCEEDED', c: 'SUCCEEDED', e: 'RUNNING' })).start).toEqual(['d']);
    expect(evaluate(spec, runs({ a: 'FAILED', b: 'FAILED', c: 'RUNNING', e: 'RUNNING' })).nodeStates.d).toBe('SKIPPED');
  });

  describe('each rule type decides its transition', () => {
    const cases: [string, TransitionInput, ExecutionFacts, 'FIRED' | 'NOT_FIRED'][] = [
      ['success', edge('a', 'b', 'success'), execution('SUCCEEDED'), 'FIRED'],
      ['success on failure', edge('a', 'b', 'success'), execution('FAILED'), 'NOT_FIRED'],
      ['failure', edge('a', 'b', 'failure'), execution('FAILED'), 'FIRED'],
      ['failure on a timeout', edge('a', 'b', 'failure'), execution('TERMINATED_AFTER_TIME_OUT'), 'FIRED'],
      ['timeout', edge('a', 'b', 'timeout'), execution('TERMINATED_AFTER_TIME_OUT'), 'FIRED'],
      ['timeout on a plain failure', edge('a', 'b', 'timeout'), execution('FAILED'), 'NOT_FIRED'],
      ['always', edge('a', 'b', 'always'), execution('ABANDONED'), 'FIRED'],
      ['exit_code', edge('a', 'b', 'exit_code', { exit_codes: [3] }), execution('FAILED', { exit_code: 3 }), 'FIRED'],
      ['exit_code, other code', edge('a', 'b', 'exit_code', { exit_codes: [3] }), execution('FAILED', { exit_code: 4 }), 'NOT_FIRED'],
      ['threshold', edge('a', 'b', 'threshold', { threshold: { field: 'error_count', operator: '>', value: 10 } }), execution('SUCCEEDED', { error_count: 11 }), 'FIRED'],
      ['threshold below', edge('a', 'b', 'threshold', { threshold: { field: 'error_count', operator: '>', value: 10 } }), execution('SUCCEEDED', { error_count: 10 }), 'NOT_FIRED'],
      ['expression', edge('a', 'b', 'expression', { expression: 'output_value.rows > 0' }), execution('SUCCEEDED', { output_value: { rows: 2 } }), 'FIRED'],
      ['expression false', edge('a', 'b', 'expression', { expression: 'output_value.rows > 0' }), execution('SUCCEEDED', { output_value: { rows: 0 } }), 'NOT_FIRED'],
    ];
    it.each(cases)('%s', (_label, transition, facts, expected) => {
      const spec = workflow([{ task: 'a', failure_behavior: 'ignore' }, 'b'], [transition]);
      const step = evaluate(spec, runs({ a: facts }));
      expect(step.edgeStates).toEqual([expected]);
      expect(step.nodeStates.b).toBe(expected === 'FIRED' ? 'READY' : 'SKIPPED');
    });
  });

  describe('failure behaviours', () => {
    const withBehaviour = (failure_behavior: 'fail_workflow' | 'fail_if_unhandled' | 'ignore', handler = true) =>
      handler ? workflow([{ task: 'a', failure_behavior }, 'h'], [edge('a', 'h', 'failure')]) : workflow([{ task: 'a', failure_behavior }]);

    it('fail_workflow: fails even when a transition handled the failure, after the handler ran', () => {
      const running = evaluate(withBehaviour('fail_workflow'), runs({ a: 'FAILED' }));
      expect(running).toMatchObject({ status: 'RUNNING', start: ['h'] }); // the handler still runs
      expect(running.nodes.find((n) => n.name === 'a')?.fails_workflow).toBe(true);
      const step = evaluate(withBehaviour('fail_workflow'), runs({ a: 'FAILED', h: 'SUCCEEDED' }));
      expect(step).toMatchObject({ status: 'FAILED', finished: true });
      expect(step.failure?.message).toBe('"a" ended FAILED (exit code 1) (failure_behavior: fail_workflow).');
    });

    it('fail_if_unhandled: a fired transition handles the failure', () => {
      expect(evaluate(withBehaviour('fail_if_unhandled'), runs({ a: 'FAILED', h: 'SUCCEEDED' })).status).toBe('SUCCEEDED');
      expect(evaluate(withBehaviour('fail_if_unhandled', false), runs({ a: 'FAILED' })).status).toBe('FAILED');
      // A transition that did not fire does not handle it.
      const exitOnly = workflow(['a', 'h'], [edge('a', 'h', 'exit_code', { exit_codes: [9] })]);
      expect(evaluate(exitOnly, runs({ a: 'FAILED' }))).toMatchObject({ status: 'FAILED' });
    });

    it('ignore: the failure never counts', () => {
      expect(evaluate(withBehaviour('ignore', false), runs({ a: 'FAILED' })).status).toBe('SUCCEEDED');
    });

    it('a failure does not stop other branches: the workflow ends when nothing more runs', () => {
      const spec = workflow(['a', 'b', 'c'], [edge('b', 'c')]);
      const step = evaluate(spec, runs({ a: 'FAILED', b: 'SUCCEEDED' }));
      expect(step).toMatchObject({ status: 'RUNNING', start: ['c'], stop: [] });
      expect(evaluate(spec, runs({ a: 'FAILED', b: 'SUCCEEDED', c: 'SUCCEEDED' })).status).toBe('FAILED');
    });

    it('an instance that could not start fails the workflow whatever its behaviour, after the rest ends', () => {
      const spec = workflow([{ task: 'a', failure_behavior: 'ignore' }, 'b', 'h'], [edge('a', 'h', 'failure')]);
      const step = evaluate(spec, runs({ b: 'RUNNING' }), { start_failures: { a: 'Task "a" is disabled.' } });
      expect(step).toMatchObject({ status: 'RUNNING', start: ['h'] });
      expect(step.nodes.find((n) => n.name === 'a')).toMatchObject({ state: 'FAILED', start_failure: 'Task "a" is disabled.', fails_workflow: true });
      const done = evaluate(spec, runs({ b: 'SUCCEEDED', h: 'SUCCEEDED' }), { start_failures: { a: 'Task "a" is disabled.' } });
      expect(done).toMatchObject({ status: 'FAILED', failure: { code: 'INSTANCE_START_FAILED', instances: ['a'] } });
      expect(done.failure?.message).toContain('"a" could not start: Task "a" is disabled.');
    });

    it('an execution that vanished counts as lost, a failure', () => {
      const step = evaluate(workflow(['a']), new Map([['a', [{ run_number: 1, workflow_attempt: 1, execution: null }]]]));
      expect(step).toMatchObject({ status: 'FAILED' });
      expect(step.failure?.message).toContain('lost (its execution was deleted)');
    });
  });

  it('marked done counts as success and lets the workflow go on', () => {
    expect(evaluate(chain, runs({ a: 'MARKED_DONE' })).start).toEqual(['b']);
  });

  describe('stop and timeout', () => {
    it('STOPPING: starts nothing, stops what runs (not what is stopping already), then STOPPED', () => {
      const spec = workflow(['a', 'b', 'c'], [edge('a', 'c')]);
      const a = execution('RUNNING');
      const b = execution('STOPPING');
      const step = evaluate(spec, runs({ a, b }), { status: 'STOPPING', stop_reason: 'MANUAL' });
      expect(step).toMatchObject({ status: 'STOPPING', start: [], stop: [a.uuid], finished: false });
      expect(step.nodeStates.c).toBe('NOT_STARTED');
      const done = evaluate(spec, runs({ a: 'STOPPED', b: 'STOPPED' }), { status: 'STOPPING', stop_reason: 'MANUAL' });
      expect(done).toMatchObject({ status: 'STOPPED', finished: true, failure: { code: 'STOPPED' } });
      expect(done.nodeStates).toEqual({ a: 'FAILED', b: 'FAILED', c: 'NOT_STARTED' });
    });

    it('a queued execution is stopped too', () => {
      const q = execution('QUEUED');
      expect(evaluate(chain, runs({ a: q }), { status: 'STOPPING', stop_reason: 'MANUAL' }).stop).toEqual([q.uuid]);
    });

    it('times out: STOPPING with MAX_EXECUTION_TIME_EXCEEDED, then TERMINATED_AFTER_TIME_OUT', () => {
      const spec = workflow(['a', 'b'], [edge('a', 'b')], { timeout_seconds: 10 });
      const a = execution('RUNNING');
      expect(evaluate(spec, runs({ a }), {}, T0 + 9_999).status).toBe('RUNNING');
      const step = evaluate(spec, runs({ a }), {}, T0 + 10_000);
      expect(step).toMatchObject({ status: 'STOPPING', stop_reason: 'MAX_EXECUTION_TIME_EXCEEDED', stop: [a.uuid], start: [] });
      const ended = evaluate(spec, runs({ a: 'STOPPED' }), { status: 'STOPPING', stop_reason: 'MAX_EXECUTION_TIME_EXCEEDED' }, T0 + 11_000);
      expect(ended).toMatchObject({ status: 'TERMINATED_AFTER_TIME_OUT', finished: true, failure: { code: 'TIMEOUT' } });
      // Nothing running when the time is up: it ends at once, and what was ready never starts.
      const idle = evaluate(spec, runs({ a: 'SUCCEEDED' }), {}, T0 + 10_000);
      expect(idle).toMatchObject({ status: 'TERMINATED_AFTER_TIME_OUT', finished: true, start: [] });
      expect(idle.nodeStates.b).toBe('NOT_STARTED');
    });

    it('counts the timeout from the start of the current attempt', () => {
      const spec = workflow(['a'], [], { timeout_seconds: 10 });
      expect(evaluate(spec, runs({ a: 'RUNNING' }, 2), { attempt: 2, attempt_started_at: T0 + 20_000 }, T0 + 25_000).status).toBe('RUNNING');
    });

    it('a final workflow with nothing running is finished and stays as it is', () => {
      const step = evaluate(chain, runs({ a: 'FAILED' }), { status: 'FAILED' });
      expect(step).toMatchObject({ status: 'FAILED', finished: true, start: [] });
      expect(step.nodeStates).toEqual({ a: 'FAILED', b: 'SKIPPED', c: 'SKIPPED' });
    });
  });

  describe('retry from failure', () => {
    const run = (n: number, attempt: number, facts: ExecutionFacts): RunFacts => ({ run_number: n, workflow_attempt: attempt, execution: facts });

    it('keeps succeeded instances, re-runs failed ones and what they skipped', () => {
      const spec = workflow(['a', 'b', 'c', 'd'], [edge('a', 'b'), edge('b', 'c'), edge('a', 'd')]);
      const attempt1 = new Map<string, RunFacts[]>([
        ['a', [run(1, 1, execution('SUCCEEDED'))]],
        ['b', [run(1, 1, execution('FAILED'))]],
        ['d', [run(1, 1, execution('SUCCEEDED'))]],
      ]);
      expect(evaluate(spec, attempt1).status).toBe('FAILED');
      const retried = evaluate(spec, attempt1, { attempt: 2 });
      expect(retried.start).toEqual(['b']);
      expect(retried.nodeStates).toEqual({ a: 'SUCCEEDED', b: 'READY', c: 'WAITING', d: 'SUCCEEDED' });
      attempt1.set('b', [run(1, 1, execution('FAILED')), run(2, 2, execution('SUCCEEDED'))]);
      expect(evaluate(spec, attempt1, { attempt: 2 }).start).toEqual(['c']);
    });

    it('re-runs instances that were stopped or never started', () => {
      const spec = workflow(['a', 'b'], [edge('a', 'b')]);
      const stopped = new Map([['a', [run(1, 1, execution('STOPPED'))]]]);
      expect(evaluate(spec, stopped, { attempt: 2 }).start).toEqual(['a']);
    });

    it('currentRun: newest run of this attempt; an earlier attempt counts only if it succeeded (or still runs)', () => {
      expect(currentRun([], 1)).toBeNull();
      const ok = run(1, 1, execution('SUCCEEDED'));
      const bad = run(2, 1, execution('FAILED'));
      expect(currentRun([ok], 2)).toBe(ok);
      expect(currentRun([ok, bad], 2)).toBeNull();
      expect(currentRun([bad, ok], 1)).toBe(bad);
      const stillRunning = run(1, 1, execution('RUNNING'));
      expect(currentRun([stillRunning], 2)).toBe(stillRunning);
      expect(currentRun([run(1, 1, execution('FAILED')), run(2, 2, execution('QUEUED'))], 2)?.run_number).toBe(2);
    });
  });

  it('lists nodes in topological order and edges in definition order', () => {
    const spec = workflow(['c', 'b', 'a'], [edge('b', 'c'), edge('a', 'b')]);
    const step = evaluate(spec);
    expect(step.nodes.map((n) => n.name)).toEqual(['a', 'b', 'c']);
    expect(step.edges.map((e) => `${e.from}→${e.to}`)).toEqual(['b→c', 'a→b']);
    expect(step.nodes[1]?.incoming).toEqual({ fired: 0, not_fired: 0, pending: 1, void: 0 });
  });
});
