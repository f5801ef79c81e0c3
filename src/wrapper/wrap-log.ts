/**
 * berth-wrap's own messages: one line each on stderr, prefixed `berth-wrap:` so they stand out
 * from the command's output. Nothing passed here may contain a secret value; callers pass names.
 */
import type { WrapLogLevel } from './options.js';

export interface WrapLog {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

const ORDER: Record<WrapLogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function createWrapLog(level: WrapLogLevel, write: (line: string) => void = writeStderr): WrapLog {
  const emit = (at: WrapLogLevel, message: string) => {
    if (ORDER[at] < ORDER[level]) return;
    write(`berth-wrap: ${at === 'info' ? '' : `${at}: `}${message}\n`);
  };
  return {
    error: (m) => emit('error', m),
    warn: (m) => emit('warn', m),
    info: (m) => emit('info', m),
    debug: (m) => emit('debug', m),
  };
}

/**
 * Writes to stderr. The stream is touched only when there is something to say (creating it costs
 * start-up time), and a reader that went away (a closed pipe) must not kill the run.
 */
export function writeStderr(line: string): void {
  guard(process.stderr).write(line);
}

const guarded = new WeakSet<NodeJS.WriteStream>();

/** The stream, with an error listener so that EPIPE never becomes an uncaught exception. */
export function guard(stream: NodeJS.WriteStream): NodeJS.WriteStream {
  if (!guarded.has(stream)) {
    stream.on('error', () => undefined);
    guarded.add(stream);
  }
  return stream;
}
