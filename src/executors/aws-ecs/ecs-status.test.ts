import type { Task } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { observeEcsTask } from './ecs-status.js';

const NOW = 1_700_000_000_000;
const started = new Date(NOW - 60_000);
const stopped = new Date(NOW - 1_000);

function stoppedTask(extra: Partial<Task>, exitCode?: number, reason?: string): Task {
  return {
    taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/berth/abc',
    lastStatus: 'STOPPED',
    startedAt: started,
    stoppedAt: stopped,
    containers: [{ name: 'main', ...(exitCode !== undefined ? { exitCode } : {}), ...(reason ? { reason } : {}) }],
    ...extra,
  };
}

describe('observeEcsTask', () => {
  it('is pending before RUNNING and running after', () => {
    expect(observeEcsTask({ lastStatus: 'PROVISIONING' }, 'main', undefined, NOW)).toEqual({ state: 'pending' });
    expect(observeEcsTask({ lastStatus: 'PENDING' }, 'main', undefined, NOW)).toEqual({ state: 'pending' });
    expect(observeEcsTask({ lastStatus: 'RUNNING', startedAt: started }, 'main', undefined, NOW)).toEqual({
      state: 'running',
      startedAt: started.getTime(),
    });
    expect(observeEcsTask({ lastStatus: 'DEPROVISIONING', startedAt: started }, 'main', undefined, NOW).state).toBe('running');
  });

  it("takes the main container's exit code", () => {
    expect(observeEcsTask(stoppedTask({ stopCode: 'EssentialContainerExited' }, 0), 'main', undefined, NOW)).toEqual({
      state: 'exited',
      startedAt: started.getTime(),
      finishedAt: stopped.getTime(),
      exitCode: 0,
      signal: null,
      timedOut: false,
      failure: null,
    });
    const failed = observeEcsTask(stoppedTask({ stopCode: 'EssentialContainerExited' }, 3), 'main', undefined, NOW);
    expect(failed).toMatchObject({ state: 'exited', exitCode: 3, failure: null });
  });

  it('explains a task that never started: image pull, secrets, capacity', () => {
    const pull = observeEcsTask(
      stoppedTask({ stopCode: 'TaskFailedToStart', stoppedReason: 'CannotPullContainerError: pull image manifest not found', startedAt: undefined }),
      'main',
      'example/etl:nope',
      NOW,
    );
    expect(pull).toMatchObject({ state: 'exited', exitCode: null, failure: { type: 'START_FAILED', code: 'IMAGE_PULL_FAILED', fault: 'config' } });
    expect((pull as { failure: { message: string } }).failure.message).toMatch(/example\/etl:nope.*execution role/s);
    const secrets = observeEcsTask(
      { ...stoppedTask({ stopCode: 'TaskFailedToStart', stoppedReason: 'ResourceInitializationError: unable to pull secrets' }), containers: [] },
      'main',
      undefined,
      NOW,
    );
    expect(secrets).toMatchObject({ failure: { code: 'RESOURCE_INITIALIZATION_FAILED' } });
    const capacity = observeEcsTask(stoppedTask({ stopCode: 'TaskFailedToStart', stoppedReason: 'Capacity is unavailable at this time' }), 'main', undefined, NOW);
    expect(capacity).toMatchObject({ failure: { code: 'NO_CAPACITY', fault: 'infrastructure' } });
  });

  it('says out of memory when ECS says so', () => {
    const oom = observeEcsTask(stoppedTask({ stopCode: 'EssentialContainerExited' }, 137, 'OutOfMemoryError: Container killed due to memory usage'), 'main', undefined, NOW);
    expect(oom).toMatchObject({ exitCode: 137, failure: { type: 'EXIT', code: 'OOM_KILLED' } });
    expect((oom as { failure: { message: string } }).failure.message).toMatch(/more memory/);
  });

  it('blames an essential sidecar when the main container succeeded', () => {
    const task = stoppedTask({ stopCode: 'EssentialContainerExited' }, 0);
    task.containers!.push({ name: 'proxy', exitCode: 1, reason: 'bad config' });
    expect(observeEcsTask(task, 'main', undefined, NOW)).toMatchObject({
      exitCode: 0,
      failure: { code: 'ESSENTIAL_CONTAINER_EXITED', exit_code: 1 },
    });
  });

  it('says when the task was stopped outside Berth, or has no exit code', () => {
    const user = observeEcsTask(stoppedTask({ stopCode: 'UserInitiated', stoppedReason: 'Task stopped by user' }, 143), 'main', undefined, NOW);
    expect(user).toMatchObject({ exitCode: 143, failure: { code: 'UserInitiated' } });
    const none = observeEcsTask(stoppedTask({ stoppedReason: 'Host terminated' }), 'main', undefined, NOW);
    expect(none).toMatchObject({ exitCode: null, failure: { code: 'NO_EXIT_CODE', fault: 'infrastructure' } });
  });
});
