/**
 * Store cases for Workflows, run by `storeSuite` (store.suite.ts) on SQLite and PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { WorkflowSpec } from '../domain/workflow.js';
import type { WorkflowSpecInput } from '../domain/workflow.js';
import { isUniqueViolation } from './sql-store.js';
import type { ExecutionRecord, NewExecution, Store, TaskRecord } from './store.js';
import type { WorkflowExecutionRecord } from './workflow-store.js';

const NOW = 1_700_000_000_000;

export interface WorkflowStoreCaseContext {
  store(): Store;
  newTask(name: string): Promise<TaskRecord>;
  newExecution(taskUuid: string, overrides?: Partial<NewExecution>): Promise<ExecutionRecord>;
}

function spec(name: string, extra: Partial<WorkflowSpecInput> = {}) {
  return WorkflowSpec.parse({ name, task_instances: [{ task: 'a' }, { task: 'b' }], transitions: [{ from: 'a', to: 'b', on: 'success' }], ...extra });
}

export function workflowStoreCases(c: WorkflowStoreCaseContext): void {
  describe('workflows', () => {
    async function newWorkflowExecution(workflowName = 'wf', created = NOW): Promise<WorkflowExecutionRecord> {
      const store = c.store();
      const workflow = (await store.workflows.getWorkflow(workflowName)) ?? (await store.workflows.upsertWorkflow(spec(workflowName), NOW)).record;
      return store.workflows.createWorkflowExecution({
        uuid: randomUUID(),
        workflow_uuid: workflow.uuid,
        workflow_version: workflow.version,
        spec: workflow.spec,
        status: 'RUNNING',
        run_reason: 'EXPLICIT_START',
        environment: { A: '1' },
        attempt: 1,
        created_at: created,
        started_at: created,
        attempt_started_at: created,
      });
    }

    it('versions definitions: the version goes up only when the definition changes', async () => {
      const store = c.store();
      const first = await store.workflows.upsertWorkflow(spec('nightly'), NOW);
      expect(first).toMatchObject({ created: true, changed: true, record: { name: 'nightly', version: 1, created_at: NOW } });
      const same = await store.workflows.upsertWorkflow(spec('nightly'), NOW + 1);
      expect(same).toMatchObject({ created: false, changed: false, record: { version: 1, updated_at: NOW } });
      const changed = await store.workflows.upsertWorkflow(spec('nightly', { timeout_seconds: 60 }), NOW + 2);
      expect(changed).toMatchObject({ created: false, changed: true, record: { uuid: first.record.uuid, version: 2, updated_at: NOW + 2 } });
      expect(changed.record.spec.timeout_seconds).toBe(60);
      expect((await store.workflows.getWorkflow(first.record.uuid.toUpperCase()))?.name).toBe('nightly');
      expect((await store.workflows.getWorkflow('nightly'))?.version).toBe(2);
      expect(await store.workflows.getWorkflow('missing')).toBeNull();
      await store.workflows.upsertWorkflow(spec('weekly_report'), NOW);
      expect((await store.workflows.listWorkflows({ limit: 10, offset: 0 })).items.map((w) => w.name)).toEqual(['nightly', 'weekly_report']);
      const found = await store.workflows.listWorkflows({ search: 'LY_', limit: 10, offset: 0 });
      expect([found.total, found.items.map((w) => w.name)]).toEqual([1, ['weekly_report']]);
      expect((await store.workflows.getWorkflows([first.record.uuid])).get(first.record.uuid)?.name).toBe('nightly');
    });

    it('stores executions with their definition, lists them newest first with filters', async () => {
      const store = c.store();
      const older = await newWorkflowExecution('wf', NOW);
      const newer = await newWorkflowExecution('wf', NOW + 10);
      const other = await newWorkflowExecution('other', NOW + 5);
      expect(older).toMatchObject({ status: 'RUNNING', attempt: 1, revision: 0, environment: { A: '1' }, start_failures: {}, failure: null, finished_at: null });
      expect(older.spec.task_instances.map((i) => i.name)).toEqual(['a', 'b']);
      const all = await store.workflows.listWorkflowExecutions({ limit: 10, offset: 0 });
      expect(all.items.map((e) => e.uuid)).toEqual([newer.uuid, other.uuid, older.uuid]);
      const wf = await store.workflows.getWorkflow('wf');
      expect((await store.workflows.listWorkflowExecutions({ workflow_uuid: wf!.uuid, limit: 10, offset: 0 })).total).toBe(2);
      await store.workflows.updateWorkflowExecution(newer.uuid, 0, { status: 'FAILED', finished_at: NOW + 20 });
      expect((await store.workflows.listWorkflowExecutions({ statuses: ['FAILED'], limit: 10, offset: 0 })).items.map((e) => e.uuid)).toEqual([newer.uuid]);
      const active = await store.workflows.listActiveWorkflowExecutions(10);
      expect(active.map((e) => e.uuid).sort()).toEqual([older.uuid, other.uuid].sort());
      expect(await store.workflows.listActiveWorkflowExecutions(10, active[1]!.uuid)).toEqual([]);
      expect(await store.workflows.countActiveWorkflowExecutions(wf!.uuid)).toBe(1);
      expect(await store.workflows.getWorkflowExecution('not-a-uuid')).toBeNull();
    });

    it('compare-and-set on the revision: a stale writer changes nothing', async () => {
      const store = c.store();
      const wfe = await newWorkflowExecution();
      const failure = { code: 'INSTANCE_FAILED' as const, message: 'x', instances: ['a'] };
      const updated = await store.workflows.updateWorkflowExecution(wfe.uuid, 0, {
        status: 'FAILED',
        failure,
        start_failures: { a: 'disabled' },
        finished_at: NOW + 1,
      });
      expect(updated).toMatchObject({ revision: 1, status: 'FAILED', failure, start_failures: { a: 'disabled' }, finished_at: NOW + 1 });
      expect(await store.workflows.updateWorkflowExecution(wfe.uuid, 0, { status: 'RUNNING' })).toBeNull();
      const cleared = await store.workflows.updateWorkflowExecution(wfe.uuid, 1, { status: 'RUNNING', failure: null, finished_at: null, attempt: 2 });
      expect(cleared).toMatchObject({ revision: 2, failure: null, finished_at: null, attempt: 2 });
      // Racing writers with the same expected revision: exactly one wins.
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) => store.workflows.updateWorkflowExecution(wfe.uuid, 2, { attempt: 10 + i })),
      );
      expect(results.filter((r) => r !== null)).toHaveLength(1);
      expect((await store.workflows.getWorkflowExecution(wfe.uuid))?.revision).toBe(3);
    });

    it('records each run once: (workflow execution, instance, run number) and the Task Execution are unique', async () => {
      const store = c.store();
      const wfe = await newWorkflowExecution();
      const task = await c.newTask('a');
      const e1 = await c.newExecution(task.uuid);
      const e2 = await c.newExecution(task.uuid);
      const run = { workflow_execution_uuid: wfe.uuid, instance_name: 'a', run_number: 1, workflow_attempt: 1, task_execution_uuid: e1.uuid, created_at: NOW };
      await store.workflows.createRun(run);
      const again = await store.workflows.createRun({ ...run, task_execution_uuid: e2.uuid }).then(() => null, (error: unknown) => error);
      expect(isUniqueViolation(again)).toBe(true);
      const sameExecution = await store.workflows.createRun({ ...run, run_number: 2 }).then(() => null, (error: unknown) => error);
      expect(isUniqueViolation(sameExecution)).toBe(true);
      await store.workflows.createRun({ ...run, run_number: 2, workflow_attempt: 2, task_execution_uuid: e2.uuid });
      // A run whose Task Execution no longer exists comes back without it.
      await store.workflows.createRun({ ...run, instance_name: 'b', task_execution_uuid: randomUUID() });
      const runs = (await store.workflows.listRuns([wfe.uuid])).get(wfe.uuid)!;
      expect(runs.map((r) => [r.instance_name, r.run_number, r.workflow_attempt, r.execution?.uuid ?? null])).toEqual([
        ['a', 1, 1, e1.uuid],
        ['a', 2, 2, e2.uuid],
        ['b', 1, 1, null],
      ]);
      expect(runs[0]!.execution).toMatchObject({ status: 'QUEUED', task_uuid: task.uuid, created_at: NOW });
      expect(await store.workflows.getRunOfExecution(e2.uuid)).toMatchObject({ workflow_execution_uuid: wfe.uuid, instance_name: 'a', run_number: 2 });
      expect(await store.workflows.getRunOfExecution(randomUUID())).toBeNull();
      expect((await store.workflows.listRuns([randomUUID()])).size).toBe(0);
    });

    it('starts an instance once when many transactions race to (row lock or serial transactions, then the unique run)', async () => {
      const store = c.store();
      const wfe = await newWorkflowExecution();
      const task = await c.newTask('a');
      const attempt = () =>
        store
          .transaction(async (tx) => {
            if (!(await tx.workflows.lockWorkflowExecution(wfe.uuid, { skipLocked: true }))) return 'busy';
            const current = (await tx.workflows.getWorkflowExecution(wfe.uuid))!;
            const runs = (await tx.workflows.listRuns([wfe.uuid])).get(wfe.uuid) ?? [];
            if (runs.length > 0) return 'already';
            const execution = await tx.createExecution({
              uuid: randomUUID(),
              task_uuid: task.uuid,
              run_environment_uuid: task.run_environment_uuid,
              status: 'QUEUED',
              run_reason: 'WORKFLOW',
              max_attempts: 1,
              environment_overrides: {},
              input_value: null,
              created_at: NOW,
            });
            await tx.workflows.createRun({
              workflow_execution_uuid: wfe.uuid,
              instance_name: 'a',
              run_number: 1,
              workflow_attempt: 1,
              task_execution_uuid: execution.uuid,
              created_at: NOW,
            });
            if (!(await tx.workflows.updateWorkflowExecution(wfe.uuid, current.revision, { updated_at: NOW + 1 }))) throw new Error('changed');
            return 'started';
          })
          .catch((error: unknown) => (isUniqueViolation(error) ? 'duplicate' : Promise.reject(error)));
      const outcomes = await Promise.all(Array.from({ length: 6 }, attempt));
      expect(outcomes.filter((o) => o === 'started')).toHaveLength(1);
      expect((await store.workflows.listRuns([wfe.uuid])).get(wfe.uuid)).toHaveLength(1);
      const executions = await store.listExecutions({ task_uuid: task.uuid, limit: 10, offset: 0 });
      expect(executions.total).toBe(1);
      expect(executions.items[0]?.run_reason).toBe('WORKFLOW');
    });

    it('keeps task overrides on an execution', async () => {
      const store = c.store();
      const task = await c.newTask('sized');
      const e = await c.newExecution(task.uuid);
      expect(e.task_overrides).toBeNull();
      await store.updateExecution(e.uuid, { task_overrides: { cpu: 512, timeout_seconds: 5 } });
      expect((await store.getExecution(e.uuid))?.task_overrides).toEqual({ cpu: 512, timeout_seconds: 5 });
    });

    it('deletes a Workflow with its executions and runs, not the Task Executions', async () => {
      const store = c.store();
      const wfe = await newWorkflowExecution('doomed');
      const task = await c.newTask('a');
      const e = await c.newExecution(task.uuid);
      await store.workflows.createRun({ workflow_execution_uuid: wfe.uuid, instance_name: 'a', run_number: 1, workflow_attempt: 1, task_execution_uuid: e.uuid, created_at: NOW });
      expect(await store.workflows.deleteWorkflow(wfe.workflow_uuid)).toBe(true);
      expect(await store.workflows.getWorkflow('doomed')).toBeNull();
      expect(await store.workflows.getWorkflowExecution(wfe.uuid)).toBeNull();
      expect(await store.workflows.getRunOfExecution(e.uuid)).toBeNull();
      expect((await store.getExecution(e.uuid))?.uuid).toBe(e.uuid);
      expect(await store.workflows.deleteWorkflow(wfe.workflow_uuid)).toBe(false);
    });
  });
}
