/**
 * What an ECS task's state means for Berth: DescribeTasks' `lastStatus`, `stopCode`,
 * `stoppedReason` and container `exitCode`/`reason` turned into an Observation with a failure a
 * person can act on. Pure, so the mapping is tested without AWS.
 */
import type { Container, Task } from '@aws-sdk/client-ecs';
import { exitFailure, startFailure } from '../../domain/failure.js';
import type { Failure } from '../../domain/failure.js';
import type { Observation } from '../executor.js';

const NOT_YET_RUNNING = new Set(['PROVISIONING', 'PENDING', 'ACTIVATING']);

function ms(date: Date | undefined): number | null {
  return date ? date.getTime() : null;
}

function containerText(c: Container): string {
  return c.reason ? ` (${c.reason})` : '';
}

/** Why a task never ran, sorted into the causes people meet most, each with what to check. */
export function failedToStart(task: Task, image: string | undefined): Failure {
  const reasons = [task.stoppedReason, ...(task.containers ?? []).map((c) => c.reason)].filter(Boolean).join('; ');
  const text = reasons || 'ECS gave no reason';
  if (/CannotPullContainerError|pull image|manifest.*not found|repository.*not found/i.test(text)) {
    return startFailure(
      'IMAGE_PULL_FAILED',
      `ECS could not pull the image${image ? ` ${image}` : ''}: ${text}. Check the image name and tag, that the execution role may pull it (ECR), and that the subnets reach the registry (a public IP, a NAT gateway or VPC endpoints).`,
      'config',
    );
  }
  if (/ResourceInitializationError/i.test(text)) {
    return startFailure(
      'RESOURCE_INITIALIZATION_FAILED',
      `ECS could not prepare the task: ${text}. This is usually the execution role not allowed to read a secret or write the log group, or the subnets not reaching Secrets Manager, SSM or CloudWatch Logs.`,
      'config',
    );
  }
  if (/capacity|RESOURCE:|ENI|insufficient/i.test(text)) {
    return startFailure('NO_CAPACITY', `ECS had no capacity to start the task: ${text}.`, 'infrastructure');
  }
  return startFailure('TASK_FAILED_TO_START', `The ECS task failed to start: ${text}.`, 'infrastructure');
}

/**
 * The Observation of one described task. `mainContainer` is the container whose exit code is the
 * Task's; `image` only improves messages.
 */
export function observeEcsTask(task: Task, mainContainer: string, image: string | undefined, now: number): Observation {
  const status = task.lastStatus ?? 'PROVISIONING';
  const startedAt = ms(task.startedAt);
  if (NOT_YET_RUNNING.has(status)) return { state: 'pending' };
  if (status !== 'STOPPED') return { state: 'running', startedAt: startedAt ?? ms(task.createdAt) ?? now };

  const finishedAt = ms(task.stoppedAt) ?? ms(task.executionStoppedAt) ?? now;
  const containers = task.containers ?? [];
  const main = containers.find((c) => c.name === mainContainer) ?? containers[0];
  const exitCode = main?.exitCode ?? null;
  const base = { state: 'exited' as const, startedAt, finishedAt, signal: null, timedOut: false };

  if (task.stopCode === 'TaskFailedToStart' || containers.length === 0) {
    return { ...base, exitCode: null, failure: failedToStart(task, image) };
  }
  if (exitCode === null) {
    return {
      ...base,
      exitCode: null,
      failure: {
        type: 'EXIT',
        code: 'NO_EXIT_CODE',
        message: `ECS stopped the task without an exit code for container ${main?.name ?? mainContainer}: ${task.stoppedReason ?? 'no reason given'}${main ? containerText(main) : ''}.`,
        fault: 'infrastructure',
        exit_code: null,
      },
    };
  }
  if (exitCode !== 0) {
    const failure = exitFailure(exitCode);
    if (/OutOfMemory/i.test(main?.reason ?? '')) {
      return {
        ...base,
        exitCode,
        failure: {
          ...failure,
          code: 'OOM_KILLED',
          message: `Container ${main!.name} was killed for using more memory than the task has (${main!.reason}). Give the Task more memory.`,
        },
      };
    }
    if (task.stopCode === 'UserInitiated' || task.stopCode === 'ServiceSchedulerInitiated' || task.stopCode === 'SpotInterruption') {
      const who =
        task.stopCode === 'SpotInterruption' ? 'Fargate Spot reclaimed its capacity' : 'it was stopped outside Berth (StopTask, the console, a deployment)';
      return {
        ...base,
        exitCode,
        failure: {
          ...failure,
          code: task.stopCode,
          message: `The task ended because ${who}: ${task.stoppedReason ?? 'no reason given'}; container ${main?.name ?? mainContainer} exited with code ${exitCode}.`,
          fault: task.stopCode === 'SpotInterruption' ? 'infrastructure' : 'task',
        },
      };
    }
    // A non-zero exit is the decider's to explain; add ECS's words when it has any.
    return {
      ...base,
      exitCode,
      failure: main?.reason ? { ...failure, message: `${failure.message} ECS: ${main.reason}.` } : null,
    };
  }
  const sidecar = containers.find((c) => c !== main && c.exitCode !== undefined && c.exitCode !== 0 && task.stopCode === 'EssentialContainerExited');
  if (sidecar) {
    return {
      ...base,
      exitCode,
      failure: {
        type: 'EXIT',
        code: 'ESSENTIAL_CONTAINER_EXITED',
        message: `Essential container ${sidecar.name} exited with code ${sidecar.exitCode}${containerText(sidecar)}, so ECS stopped the task.`,
        fault: 'task',
        exit_code: sidecar.exitCode ?? null,
      },
    };
  }
  return { ...base, exitCode, failure: null };
}
