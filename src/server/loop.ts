import { coerceError } from '../domain/errors.js';
import type { Logger } from './logger.js';

export interface LoopStats {
  passes: number;
  errors: number;
  lastError: string | null;
}

/**
 * Runs `pass` again and again: every `intervalMs`, sooner when woken, at once when the pass says
 * there is more work. A pass that throws is logged and counted, never fatal: background loops
 * must not crash the server.
 */
export class Loop {
  readonly stats: LoopStats = { passes: 0, errors: 0, lastError: null };
  private running = false;
  private woken = false;
  private timer: NodeJS.Timeout | null = null;
  private wakeUp: (() => void) | null = null;
  private finished: Promise<void> = Promise.resolve();

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    /**
     * Returns true when it should run again immediately (a full batch, say), or a number of ms to
     * sleep before the next pass when that is sooner than `intervalMs` (the next due fire, say).
     */
    private readonly pass: () => Promise<boolean | number>,
    private readonly log: Logger,
    /**
     * Least time between the starts of two passes, in ms, however often it is woken: many wakes
     * in a burst (hundreds of processes exiting) become one pass per gap. (Default: 0)
     */
    private readonly minGapMs = 0,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.finished = this.run();
  }

  /** Run a pass as soon as the current one (if any) ends. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Stops after the pass in progress; resolves when it has ended. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.finished;
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.woken = false;
      const startedAt = Date.now();
      let again: boolean | number = false;
      try {
        again = await this.pass();
        this.stats.passes++;
      } catch (thrown) {
        const error = coerceError(thrown);
        this.stats.errors++;
        this.stats.lastError = error.message;
        this.log.error(`${this.name} pass failed; will retry`, { error });
      }
      if (!this.running) break;
      if (again === true || this.woken) {
        const wait = this.minGapMs - (Date.now() - startedAt);
        // Let I/O callbacks (HTTP requests) run between back-to-back passes.
        await new Promise((resolve) => (wait > 0 ? setTimeout(resolve, wait) : setImmediate(resolve)));
        continue;
      }
      await new Promise<void>((resolve) => {
        this.wakeUp = resolve;
        this.timer = setTimeout(resolve, typeof again === 'number' ? Math.max(0, Math.min(again, this.intervalMs)) : this.intervalMs);
      });
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.wakeUp = null;
    }
  }
}

/** A part of the server that runs as one Loop: start, wake, stop, and its counters. */
export abstract class LoopRunner {
  protected abstract readonly loop: Loop;

  start(): void {
    this.loop.start();
  }

  wake(): void {
    this.loop.wake();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  get stats(): LoopStats {
    return this.loop.stats;
  }
}
