import { describe, expect, it } from 'vitest';
import { LocalRunEnvironmentSpec } from '../domain/run-environment.js';
import { TaskSpec } from '../domain/task.js';
import type { ExecutionRecord, RunEnvironmentRecord, TaskRecord } from '../store/store.js';
import { buildStartRequest } from './launcher.js';

const env: RunEnvironmentRecord = {
  uuid: '11111111-1111-4111-8111-111111111111',
  name: 'local',
  kind: 'local',
  spec: LocalRunEnvironmentSpec.parse({ name: 'local', kind: 'local' }),
  created_at: 0,
  updated_at: 0,
};
const task: TaskRecord = {
  uuid: '22222222-2222-4222-8222-222222222222',
  name: 'sized',
  run_environment_uuid: env.uuid,
  spec: TaskSpec.parse({ name: 'sized', run_environment: 'local', command: 'true', cpu: 256, memory: 512, timeout_seconds: 60 }),
  created_at: 0,
  updated_at: 0,
};

function execution(overrides: Partial<ExecutionRecord>): ExecutionRecord {
  return { uuid: '33333333-3333-4333-8333-333333333333', attempt: 1, launch_token: null, environment_overrides: {}, ...overrides } as ExecutionRecord;
}

describe('buildStartRequest', () => {
  it("uses the Task's cpu, memory and timeout", () => {
    const request = buildStartRequest(execution({ task_overrides: null }), task, env);
    expect(request.task).toMatchObject({ cpu: 256, memory: 512, timeoutSeconds: 60 });
  });

  it("uses an execution's overrides instead (a Workflow's task instance), in the spec executors read too", () => {
    const request = buildStartRequest(execution({ task_overrides: { cpu: 1024, memory: 2048, timeout_seconds: 5 } }), task, env);
    expect(request.task).toMatchObject({ cpu: 1024, memory: 2048, timeoutSeconds: 5 });
    expect(request.task.spec).toMatchObject({ cpu: 1024, memory: 2048, timeout_seconds: 5 });
    const partial = buildStartRequest(execution({ task_overrides: { timeout_seconds: 5 } }), task, env);
    expect(partial.task).toMatchObject({ cpu: 256, memory: 512, timeoutSeconds: 5 });
  });
});
