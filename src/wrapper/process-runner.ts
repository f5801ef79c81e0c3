/**
 * Runs one attempt of the command in its own process group, so that the command and everything
 * it starts can be signalled together. Ending it (timeout, a stop from Berth, a signal to the
 * wrapper) is always: the signal to the whole group, then SIGKILL to the group after the grace
 * period if anything in it is still alive — nothing is left behind.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { ProcessEnd, RunOutcome, TerminationReason } from './exit-codes.js';
import { guard } from './wrap-log.js';

export interface AttemptOptions {
  command: readonly string[];
  env: Record<string, string>;
  /** null = no time limit. */
  timeoutMs: number | null;
  graceMs: number;
  /** Pipe stdout/stderr through the wrapper (to keep tails) instead of handing over the wrapper's own. */
  pipeOutput: boolean;
  onOutput?(stream: 'stdout' | 'stderr', chunk: Buffer): void;
  onSpawn?(pid: number): void;
}

/** How long to wait for the command's output to drain after it exited (a daemon it left may hold the pipe). */
const DRAIN_MS = 2000;
/** How often to look whether a terminated group is empty yet. */
const GROUP_POLL_MS = 25;

/** Signals a whole process group; false when it no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** One attempt: `start()` once, `terminate()` any number of times. */
export class Attempt {
  private child: ChildProcess | null = null;
  private reason: TerminationReason | null = null;
  private killDeadline = 0;
  private killTimer: NodeJS.Timeout | null = null;
  private timeoutTimer: NodeJS.Timeout | null = null;
  private ended = false;

  constructor(private readonly options: AttemptOptions) {}

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Runs the attempt to its end. */
  run(): Promise<RunOutcome> {
    const { command, env, pipeOutput } = this.options;
    return new Promise((resolve) => {
      let child: ChildProcess;
      try {
        child = spawn(command[0]!, command.slice(1), {
          env,
          // Its own process group (and session): signals reach everything it starts.
          detached: true,
          stdio: ['inherit', pipeOutput ? 'pipe' : 'inherit', pipeOutput ? 'pipe' : 'inherit'],
        });
      } catch (error) {
        resolve({ end: spawnFailure(error), terminatedFor: null });
        return;
      }
      this.child = child;
      let settled = false;
      const finish = (end: ProcessEnd) => {
        if (settled) return;
        settled = true;
        this.ended = true;
        if (this.timeoutTimer) clearTimeout(this.timeoutTimer);
        resolve({ end, terminatedFor: this.reason });
      };
      child.once('error', (error) => {
        // Only a failed spawn leaves no pid; other errors (a failed kill) come with an exit anyway.
        if (child.pid === undefined) finish(spawnFailure(error));
      });
      child.once('spawn', () => {
        this.options.onSpawn?.(child.pid!);
        if (this.options.timeoutMs !== null) {
          this.timeoutTimer = setTimeout(() => this.terminate({ type: 'timeout' }), this.options.timeoutMs);
        }
      });
      const drained: Promise<void>[] = [];
      if (pipeOutput) {
        for (const name of ['stdout', 'stderr'] as const) {
          const stream = child[name]!;
          const target = guard(name === 'stdout' ? process.stdout : process.stderr);
          stream.on('data', (chunk: Buffer) => {
            target.write(chunk);
            this.options.onOutput?.(name, chunk);
          });
          drained.push(new Promise((r) => stream.once('close', () => r())));
        }
      }
      child.once('exit', (code, signal) => {
        const end: ProcessEnd = signal ? { type: 'signaled', signal } : { type: 'exited', exitCode: code ?? 0 };
        void (async () => {
          if (this.reason) await this.waitForGroupEnd(child.pid!);
          else if (this.killTimer) clearTimeout(this.killTimer);
          // Let the last output through, but do not hang on a pipe something else still holds.
          await Promise.race([Promise.all(drained), delay(DRAIN_MS)]);
          if (pipeOutput) {
            child.stdout?.destroy();
            child.stderr?.destroy();
          }
          finish(end);
        })();
      });
    });
  }

  /**
   * Ends the attempt: `signal` (SIGTERM unless the wrapper was sent another) to the whole group
   * now, SIGKILL to the group after the grace period. A second call escalates to SIGKILL at once
   * when it is an abort (a second Ctrl-C); otherwise it changes nothing.
   */
  terminate(reason: TerminationReason): void {
    const pid = this.child?.pid;
    if (pid === undefined || this.ended) return;
    if (this.reason) {
      if (reason.type === 'abort') signalGroup(pid, 'SIGKILL');
      return;
    }
    this.reason = reason;
    if (this.timeoutTimer) clearTimeout(this.timeoutTimer);
    signalGroup(pid, reason.type === 'abort' ? reason.signal : 'SIGTERM');
    this.killDeadline = Date.now() + this.options.graceMs;
    this.killTimer = setTimeout(() => signalGroup(pid, 'SIGKILL'), this.options.graceMs);
  }

  /** After the leader exited: wait for the rest of its group until the grace period ends, then SIGKILL it. */
  private async waitForGroupEnd(pgid: number): Promise<void> {
    while (signalGroup(pgid, 0) && Date.now() < this.killDeadline) await delay(GROUP_POLL_MS);
    if (this.killTimer) clearTimeout(this.killTimer);
    signalGroup(pgid, 'SIGKILL');
  }
}

function spawnFailure(error: unknown): ProcessEnd {
  const errno = (error as NodeJS.ErrnoException).code ?? 'UNKNOWN';
  const message = error instanceof Error ? error.message : String(error);
  return { type: 'spawn_failed', errno, message };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
