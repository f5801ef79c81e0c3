import type { TextStream } from './output.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * A one-line status with a spinner on stderr, redrawn in place. Only on a TTY: elsewhere (pipes,
 * CI logs, tests) it prints nothing. Call `clear()` before printing other lines to stderr or
 * stdout so they do not mix with it; the next tick draws it again.
 */
export class Progress {
  private text = '';
  private frame = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private drawn = false;
  readonly enabled: boolean;

  constructor(
    private readonly stream: TextStream & { columns?: number } = process.stderr,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.enabled = stream.isTTY === true && env.TERM !== 'dumb' && env.BERTH_NO_PROGRESS !== '1';
  }

  /** Sets the status text (and starts the spinner on first use). */
  update(text: string): void {
    if (!this.enabled) return;
    this.text = text;
    if (!this.timer) {
      this.timer = setInterval(() => this.draw(), 100);
      this.timer.unref();
    }
    this.draw();
  }

  /** Removes the line (until the next update or tick). */
  clear(): void {
    if (!this.enabled || !this.drawn) return;
    this.stream.write('\r\u001b[2K');
    this.drawn = false;
  }

  /** Removes the line for good. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.clear();
  }

  private draw(): void {
    if (!this.enabled || this.text === '') return;
    this.frame = (this.frame + 1) % FRAMES.length;
    const columns = this.stream.columns !== undefined && this.stream.columns > 0 ? this.stream.columns : 80;
    const max = Math.max(10, columns - 3);
    const text = this.text.length > max ? `${this.text.slice(0, max - 1)}…` : this.text;
    this.stream.write(`\r\u001b[2K${FRAMES[this.frame]} ${text}`);
    this.drawn = true;
  }
}
