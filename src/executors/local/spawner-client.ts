import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SPAWNER_PATH = fileURLToPath(new URL('./local-spawner.js', import.meta.url));

export interface SpawnRunnerRequest {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** The spawn journal: a line `{token, dir, pid, at}` per attempt is appended before the answer. */
  journal: string;
  /** The attempts the runner runs, each with the tag its end is announced with. */
  attempts: { token: string; dir: string; tag: string }[];
  /** Written to the runner's stdin, which is then closed. */
  input: string;
}

/** The spawner could not be asked, or died before answering: whether the runner started is unknown. */
export class SpawnerUnavailableError extends Error {}

/** The spawner answered that the runner could not be started. */
export class RunnerSpawnError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Pending {
  resolve: (pid: number) => void;
  reject: (error: Error) => void;
}

/**
 * Talks to `local-spawner.js`, started on first use and again after it dies. Requests are
 * answered in order; `onAttemptEnd` hears of every attempt of a runner it started that ends
 * while it lives (from the runner's own notice, or at the latest when the runner exits).
 */
export class SpawnerClient {
  private child: ChildProcess | null = null;
  private readonly pending = new Map<number, Pending>();
  /** Attempts of runners it started that have not ended, by attempt directory; updated in message order (so never stale). */
  private readonly running = new Map<string, { pid: number; tag: string }>();
  /** The attempt directories of each runner still running. */
  private readonly runners = new Map<number, string[]>();
  private readonly requests = new Map<number, SpawnRunnerRequest['attempts']>();
  private nextId = 1;
  private buffer = '';

  constructor(
    private readonly nodePath: string,
    private readonly onAttemptEnd: (dir: string, tag: string) => void,
    /** Called when the spawner exits: end notices for its runners' attempts will not come any more. */
    private readonly onSpawnerGone: () => void,
  ) {}

  /** Starts a runner; resolves with its pid. Throws RunnerSpawnError or SpawnerUnavailableError. */
  spawn(request: SpawnRunnerRequest): Promise<number> {
    const child = this.ensure();
    const id = this.nextId++;
    this.requests.set(id, request.attempts);
    const promise = new Promise<number>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.refWhileBusy();
    const line = JSON.stringify({
      id,
      command: request.command,
      args: request.args,
      cwd: request.cwd,
      env: request.env,
      journal: request.journal,
      entries: request.attempts.map(({ token, dir }) => ({ token, dir })),
      input: request.input,
    });
    child.stdin!.write(line + '\n');
    return promise;
  }

  /** Whether the attempt in `dir` of the runner `pid` this spawner started is still running (false once unknown). */
  isRunning(pid: number, dir: string): boolean {
    return this.running.get(dir)?.pid === pid;
  }

  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.stdin!.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  private ensure(): ChildProcess {
    if (this.child) return this.child;
    const child = spawn(this.nodePath, [SPAWNER_PATH], {
      stdio: ['pipe', 'pipe', 'inherit'],
      // Its own environment is not passed on: every runner gets an explicit one.
      // UV_USE_IO_URING=0: with libuv's io_uring rings set up, every fork costs this process
      // about a third more system time (measured: 0.60 → 0.39 ms per spawn), and the spawner
      // does no file I/O that would gain from io_uring.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', UV_USE_IO_URING: '0' },
    });
    this.child = child;
    this.buffer = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => this.receive(chunk));
    child.stdin!.on('error', () => undefined);
    child.on('error', () => undefined);
    child.once('exit', () => {
      if (this.child === child) this.child = null;
      this.running.clear();
      this.runners.clear();
      const waiting = [...this.pending.values()];
      this.pending.clear();
      this.requests.clear();
      for (const p of waiting) p.reject(new SpawnerUnavailableError('the local spawner exited before answering'));
      this.onSpawnerGone();
    });
    child.unref();
    this.idle();
    return child;
  }

  private receive(chunk: string): void {
    this.buffer += chunk;
    for (let newline = this.buffer.indexOf('\n'); newline >= 0; newline = this.buffer.indexOf('\n')) {
      const line = this.buffer.slice(0, newline);
      this.buffer = this.buffer.slice(newline + 1);
      let message: { id?: number; pid?: number; exit?: number; done?: string; error?: { code: string; message: string } };
      try {
        message = JSON.parse(line) as typeof message;
      } catch {
        continue;
      }
      if (typeof message.done === 'string') {
        this.ended(message.done);
        continue;
      }
      if (typeof message.exit === 'number') {
        // Whatever it did not announce ended with it (it crashed, or could not write its line).
        for (const dir of this.runners.get(message.exit) ?? []) {
          if (this.running.get(dir)?.pid === message.exit) this.ended(dir);
        }
        this.runners.delete(message.exit);
        continue;
      }
      const pending = message.id === undefined ? undefined : this.pending.get(message.id);
      if (!pending) continue;
      this.pending.delete(message.id!);
      const attempts = this.requests.get(message.id!) ?? [];
      this.requests.delete(message.id!);
      if (typeof message.pid === 'number') {
        // Recorded here, not when the caller's promise continues: its end may be the next line.
        for (const attempt of attempts) this.running.set(attempt.dir, { pid: message.pid, tag: attempt.tag });
        this.runners.set(
          message.pid,
          attempts.map((a) => a.dir),
        );
        pending.resolve(message.pid);
      }
      else pending.reject(new RunnerSpawnError(message.error?.code ?? 'SPAWN_FAILED', message.error?.message ?? 'unknown error'));
    }
    if (this.pending.size === 0) this.idle();
  }

  private ended(dir: string): void {
    const attempt = this.running.get(dir);
    if (!attempt) return;
    this.running.delete(dir);
    this.onAttemptEnd(dir, attempt.tag);
  }

  /** While an answer is awaited the pipes keep the process alive; idle, they do not. */
  private refWhileBusy(): void {
    const out = this.child?.stdout as unknown as { ref?: () => void } | undefined;
    out?.ref?.();
  }

  private idle(): void {
    const streams = [this.child?.stdout, this.child?.stdin] as unknown as ({ unref?: () => void } | undefined)[];
    for (const s of streams) s?.unref?.();
  }
}
