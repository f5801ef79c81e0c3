/**
 * A small structured logger. Lines are JSON (for log collectors) or readable text (terminals).
 * Fields whose names look like secrets are replaced before anything is written, so a careless
 * `log.info('x', { api_key })` cannot leak.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
const SECRET_NAME = /(secret|password|passwd|token|api_?key|authorization|credential)/i;

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 5 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    return { name: value.name, message: value.message, code: (value as { code?: unknown }).code, stack: value.stack };
  }
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_NAME.test(k) ? '[redacted]' : redact(v, depth + 1);
  return out;
}

export interface LoggerOptions {
  level: LogLevel;
  format: 'json' | 'pretty';
  write?: (line: string) => void;
}

export function createLogger(options: LoggerOptions, base: LogFields = {}): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const threshold = ORDER[options.level];
  const emit = (level: Exclude<LogLevel, 'silent'>, message: string, fields?: LogFields) => {
    if (ORDER[level] < threshold) return;
    const data = redact({ ...base, ...fields }) as LogFields;
    if (options.format === 'json') {
      write(JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...data }));
      return;
    }
    const extras = Object.entries(data)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    const time = new Date().toISOString().slice(11, 23);
    write(`${time} ${level.toUpperCase().padEnd(5)} ${message}${extras ? `  ${extras}` : ''}`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(options, { ...base, ...fields }),
  };
}

export const silentLogger: Logger = createLogger({ level: 'silent', format: 'json' });
