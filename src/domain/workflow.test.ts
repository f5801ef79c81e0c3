import { describe, expect, it } from 'vitest';
import { formatIssues } from './common.js';
import {
  checkWorkflowGraph,
  describeCondition,
  describeRule,
  executionFinished,
  ruleFires,
  topologicalOrder,
  TransitionSpec,
  withTaskOverrides,
  WorkflowSpec,
  WorkflowSpecObject,
} from './workflow.js';
import type { ExecutionFacts, WorkflowSpecInput } from './workflow.js';

function facts(overrides: Partial<ExecutionFacts> = {}): ExecutionFacts {
  return {
    uuid: '11111111-1111-4111-8111-111111111111',
    status: 'SUCCEEDED',
    exit_code: 0,
    success_count: null,
    error_count: null,
    skipped_count: null,
    expected_count: null,
    attempt: 1,
    failed_attempts: 0,
    timed_out_attempts: 0,
    started_at: 1_000,
    finished_at: 4_000,
    stop_reason: null,
    last_status_message: null,
    output_value: null,
    ...overrides,
  };
}

const rule = (input: Record<string, unknown>) => TransitionSpec.parse({ from: 'a', to: 'b', ...input });

function issues(input: WorkflowSpecInput) {
  const parsed = WorkflowSpec.safeParse(input);
  return parsed.success ? [] : formatIssues(parsed.error);
}

describe('transition rules', () => {
  const succeeded = facts();
  const failed = facts({ status: 'FAILED', exit_code: 3 });
  const timedOut = facts({ status: 'TERMINATED_AFTER_TIME_OUT', exit_code: null, stop_reason: 'MAX_EXECUTION_TIME_EXCEEDED' });
  const stopped = facts({ status: 'STOPPED', exit_code: null });
  const abandoned = facts({ status: 'ABANDONED', exit_code: null });
  const markedDone = facts({ status: 'MARKED_DONE', exit_code: null });

  it('success: succeeded, or marked done', () => {
    const r = rule({ on: 'success' });
    expect([succeeded, markedDone, failed, timedOut, stopped, abandoned].map((f) => ruleFires(r, f))).toEqual([true, true, false, false, false, false]);
  });

  it('failure: any end without success, timeouts and stops included', () => {
    const r = rule({ on: 'failure' });
    expect([succeeded, markedDone, failed, timedOut, stopped, abandoned].map((f) => ruleFires(r, f))).toEqual([false, false, true, true, true, true]);
  });

  it('timeout: only TERMINATED_AFTER_TIME_OUT', () => {
    const r = rule({ on: 'timeout' });
    expect([succeeded, failed, timedOut, stopped].map((f) => ruleFires(r, f))).toEqual([false, false, true, false]);
  });

  it('always: any finish', () => {
    const r = rule({ on: 'always' });
    expect([succeeded, failed, timedOut, stopped, abandoned].every((f) => ruleFires(r, f))).toBe(true);
  });

  it('exit_code: one of the listed codes; no exit code never matches', () => {
    const r = rule({ on: 'exit_code', exit_codes: [3, 4] });
    expect(ruleFires(r, failed)).toBe(true);
    expect(ruleFires(r, facts({ status: 'FAILED', exit_code: 5 }))).toBe(false);
    expect(ruleFires(r, timedOut)).toBe(false);
    expect(ruleFires(rule({ on: 'exit_code', exit_codes: [0] }), succeeded)).toBe(true);
  });

  it('threshold: compares a number of the execution; a missing number never fires', () => {
    const over10 = rule({ on: 'threshold', threshold: { field: 'error_count', operator: '>', value: 10 } });
    expect(ruleFires(over10, facts({ error_count: 11 }))).toBe(true);
    expect(ruleFires(over10, facts({ error_count: 10 }))).toBe(false);
    expect(ruleFires(over10, facts({ error_count: null }))).toBe(false);
    const ops = ['>', '>=', '<', '<=', '==', '!='] as const;
    expect(ops.map((operator) => ruleFires(rule({ on: 'threshold', threshold: { field: 'success_count', operator, value: 5 } }), facts({ success_count: 5 })))).toEqual([
      false,
      true,
      false,
      true,
      true,
      false,
    ]);
    const slow = rule({ on: 'threshold', threshold: { field: 'duration_seconds', operator: '>=', value: 3 } });
    expect(ruleFires(slow, succeeded)).toBe(true); // 1 s → 4 s
    expect(ruleFires(slow, facts({ started_at: null }))).toBe(false);
  });

  it('threshold: refuses unknown fields and operators', () => {
    expect(TransitionSpec.safeParse({ from: 'a', to: 'b', on: 'threshold', threshold: { field: 'errors', operator: '>', value: 1 } }).success).toBe(false);
    expect(TransitionSpec.safeParse({ from: 'a', to: 'b', on: 'threshold', threshold: { field: 'error_count', operator: '=>', value: 1 } }).success).toBe(false);
  });

  it('expression: evaluated over the finished execution', () => {
    const r = rule({ on: 'expression', expression: 'exit_code == 3 and output_value.retry == true' });
    expect(ruleFires(r, facts({ status: 'FAILED', exit_code: 3, output_value: { retry: true } }))).toBe(true);
    expect(ruleFires(r, facts({ status: 'FAILED', exit_code: 3, output_value: { retry: false } }))).toBe(false);
    expect(ruleFires(rule({ on: 'expression', expression: 'timed_out' }), timedOut)).toBe(true);
    expect(ruleFires(rule({ on: 'expression', expression: 'duration_seconds == 3' }), succeeded)).toBe(true);
  });

  it('is described in words', () => {
    expect(describeRule(rule({ on: 'exit_code', exit_codes: [3, 4] }))).toBe('exit_code in [3, 4]');
    expect(describeRule(rule({ on: 'threshold', threshold: { field: 'error_count', operator: '>', value: 10 } }))).toBe('error_count > 10');
    expect(describeRule(rule({ on: 'failure' }))).toBe('failure');
    expect(describeCondition({ ratio_at_least: 0.5 })).toBe('ratio_at_least 0.5');
  });

  it('refuses rule fields that do not belong to the rule', () => {
    const parsed = TransitionSpec.safeParse({ from: 'a', to: 'b', on: 'success', exit_codes: [1] });
    expect(parsed.success).toBe(false);
    expect(TransitionSpec.safeParse({ from: 'a', to: 'b', on: 'exit_code', exit_codes: [] }).success).toBe(false);
    expect(TransitionSpec.safeParse({ from: 'a', to: 'b', on: 'sometimes' }).success).toBe(false);
  });
});

describe('workflow definitions', () => {
  const base = {
    name: 'nightly',
    task_instances: [{ task: 'extract' }, { task: 'load' }, { name: 'alert', task: 'notify' }],
    transitions: [
      { from: 'extract', to: 'load', on: 'success' as const },
      { from: 'extract', to: 'alert', on: 'failure' as const },
    ],
  };

  it('fills in defaults: instance name from the Task, all, fail_if_unhandled, no timeout', () => {
    const spec = WorkflowSpec.parse(base);
    expect(spec.task_instances.map((i) => i.name)).toEqual(['extract', 'load', 'alert']);
    expect(spec.task_instances[0]).toMatchObject({ start_condition: 'all', failure_behavior: 'fail_if_unhandled', environment: {} });
    expect(spec.timeout_seconds).toBeNull();
  });

  it('says which transition refers to a missing instance, with a suggestion', () => {
    expect(issues({ ...base, transitions: [{ from: 'extrct', to: 'lod', on: 'success' }] })).toEqual([
      expect.objectContaining({ path: 'transitions[0].from', message: expect.stringContaining('no task instance named "extrct" (did you mean "extract"?); instances are extract, load, alert') }),
      expect.objectContaining({ path: 'transitions[0].to', message: expect.stringContaining('(did you mean "load"?)') }),
    ]);
  });

  it('refuses duplicate instance names and says how to fix it', () => {
    expect(issues({ ...base, task_instances: [...base.task_instances, { task: 'load' }] })).toEqual([
      expect.objectContaining({ path: 'task_instances[3].name', message: expect.stringContaining('duplicate instance name "load" (also task_instances[1]); give each instance') }),
    ]);
  });

  it('refuses the same transition twice', () => {
    expect(issues({ ...base, transitions: [...base.transitions, { from: 'extract', to: 'load', on: 'success', description: 'again' }] })).toEqual([
      expect.objectContaining({ path: 'transitions[2]', message: expect.stringContaining('the same transition as transitions[0]') }),
    ]);
  });

  it('refuses bad names, an empty workflow and unknown fields', () => {
    expect(issues({ name: 'bad name', task_instances: [{ task: 't' }] })[0]?.path).toBe('name');
    expect(issues({ name: 'w', task_instances: [] })[0]?.message).toContain('at least one task instance');
    expect(issues({ name: 'w', task_instances: [{ task: 't', colour: 'red' } as never] })).toEqual([
      expect.objectContaining({ path: 'task_instances[0].colour', message: 'unknown field; remove it or check its spelling' }),
    ]);
  });

  it('refuses an expression that does not parse, at the expression', () => {
    expect(issues({ ...base, transitions: [{ from: 'extract', to: 'load', on: 'expression', expression: 'exit_code = 3' }] })).toEqual([
      expect.objectContaining({ path: 'transitions[0].expression', message: '"=" is not an operator (compare with "==") at column 11' }),
    ]);
  });

  it('refuses a count_at_least that can never be met', () => {
    expect(
      issues({
        ...base,
        task_instances: [{ task: 'extract' }, { task: 'load', start_condition: { count_at_least: 2 } }, { name: 'alert', task: 'notify' }],
      }),
    ).toEqual([
      expect.objectContaining({
        path: 'task_instances[1].start_condition.count_at_least',
        message: 'count_at_least 2 can never be met: "load" has 1 incoming transition; lower it or add transitions',
      }),
    ]);
    expect(issues({ ...base, task_instances: [{ task: 'extract', start_condition: { ratio_at_least: 1.5 } }, { task: 'load' }, { name: 'alert', task: 'notify' }] })[0]?.message).toContain('at most 1');
    expect(issues({ ...base, task_instances: [{ task: 'extract', start_condition: { ratio_at_least: 0 } }, { task: 'load' }, { name: 'alert', task: 'notify' }] })[0]?.message).toContain('more than 0');
  });
});

describe('cycle detection', () => {
  const instances = ['a', 'b', 'c', 'd'].map((task) => ({ task }));

  it('refuses a cycle and names it', () => {
    const found = issues({
      name: 'w',
      task_instances: instances,
      transitions: [
        { from: 'a', to: 'b', on: 'success' },
        { from: 'b', to: 'c', on: 'success' },
        { from: 'c', to: 'd', on: 'success' },
        { from: 'c', to: 'a', on: 'failure' },
      ],
    });
    expect(found).toEqual([
      expect.objectContaining({
        path: 'transitions[3]',
        message: 'the transitions form a cycle: a → b → c → a; a Workflow must not loop back, so remove or redirect one of these transitions',
      }),
    ]);
  });

  it('refuses a transition to itself', () => {
    expect(issues({ name: 'w', task_instances: instances, transitions: [{ from: 'b', to: 'b', on: 'failure' }] })[0]?.message).toContain('cycle: b → b');
  });

  it('finds a cycle that does not go through the first instance', () => {
    const sorted = topologicalOrder(
      WorkflowSpecObject.parse({
        name: 'w',
        task_instances: instances,
        transitions: [
          { from: 'a', to: 'b', on: 'success' },
          { from: 'c', to: 'd', on: 'success' },
          { from: 'd', to: 'c', on: 'success' },
        ],
      }),
    );
    expect(sorted.cycle?.names).toEqual(['c', 'd', 'c']);
  });

  it('accepts diamonds and orders instances so that every transition goes forward', () => {
    const spec = WorkflowSpec.parse({
      name: 'w',
      task_instances: [{ task: 'd' }, { task: 'c' }, { task: 'b' }, { task: 'a' }],
      transitions: [
        { from: 'a', to: 'b', on: 'success' },
        { from: 'a', to: 'c', on: 'success' },
        { from: 'b', to: 'd', on: 'always' },
        { from: 'c', to: 'd', on: 'always' },
      ],
    });
    const order = topologicalOrder(spec).order!;
    for (const t of spec.transitions) expect(order.indexOf(t.from)).toBeLessThan(order.indexOf(t.to));
    expect(checkWorkflowGraph(spec)).toEqual([]);
  });
});

describe('task overrides', () => {
  it('replace only the fields set', () => {
    const spec = { cpu: 256, memory: 512, timeout_seconds: null as number | null, name: 't' };
    expect(withTaskOverrides(spec, { timeout_seconds: 5 })).toEqual({ cpu: 256, memory: 512, timeout_seconds: 5, name: 't' });
    expect(withTaskOverrides(spec, { cpu: 1024, memory: 2048 })).toEqual({ cpu: 1024, memory: 2048, timeout_seconds: null, name: 't' });
    expect(withTaskOverrides(spec, null)).toBe(spec);
  });

  it('a marked-done execution is over for a workflow', () => {
    expect(executionFinished('MARKED_DONE')).toBe(true);
    expect(executionFinished('STOPPING')).toBe(false);
  });
});
