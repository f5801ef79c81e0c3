/**
 * The last lines of one output stream, kept in a fixed-size ring so that a command printing
 * gigabytes costs the wrapper at most `capacity × maxLineLength` characters. Bytes are decoded as
 * UTF-8 across chunk boundaries; `\r\n` counts as one line end.
 */
import { StringDecoder } from 'node:string_decoder';

export class LogTail {
  private readonly lines: string[] = [];
  /** Index of the oldest line once the ring is full. */
  private start = 0;
  private partial = '';
  /** The current line was already cut; drop the rest of it. */
  private cut = false;
  private readonly decoder = new StringDecoder('utf8');

  constructor(
    readonly capacity: number,
    readonly maxLineLength: number,
  ) {}

  /** Adds a chunk of output. */
  write(chunk: Buffer | string): void {
    if (this.capacity === 0) return;
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    let from = 0;
    for (;;) {
      const newline = text.indexOf('\n', from);
      if (newline < 0) {
        this.append(text.slice(from));
        return;
      }
      this.append(text.slice(from, newline));
      this.endLine();
      from = newline + 1;
    }
  }

  /** The kept lines, oldest first, including an unfinished last line. */
  text(): string {
    const lines = [...this.lines.slice(this.start), ...this.lines.slice(0, this.start)];
    const rest = this.partial + (this.cut ? '…' : '');
    if (rest !== '') lines.push(rest.replace(/\r$/, ''));
    return lines.slice(-this.capacity).join('\n');
  }

  /** The last `n` kept lines (n ≤ capacity). */
  last(n: number): string {
    if (n <= 0) return '';
    const all = this.text();
    if (all === '') return '';
    return all.split('\n').slice(-n).join('\n');
  }

  private append(piece: string): void {
    if (this.cut || piece === '') return;
    const room = this.maxLineLength - this.partial.length;
    if (piece.length > room) {
      this.partial += piece.slice(0, room);
      this.cut = true;
    } else this.partial += piece;
  }

  private endLine(): void {
    let line = this.partial.replace(/\r$/, '');
    if (this.cut) line += '…';
    this.partial = '';
    this.cut = false;
    if (this.lines.length < this.capacity) this.lines.push(line);
    else {
      this.lines[this.start] = line;
      this.start = (this.start + 1) % this.capacity;
    }
  }
}
