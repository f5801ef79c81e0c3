/**
 * Status updates from the wrapped command: UDP datagrams on 127.0.0.1, each holding one or more
 * newline-terminated JSON objects with any of `success_count`, `error_count`, `skipped_count`,
 * `expected_count`, `last_status_message`, `other_runtime_metadata` (proc_wrapper's format, so
 * its clients work too). Later values replace earlier ones; the wrapper forwards the merged state.
 */
import dgram from 'node:dgram';

export const COUNT_FIELDS = ['success_count', 'error_count', 'skipped_count', 'expected_count'] as const;
export type CountField = (typeof COUNT_FIELDS)[number];

/** The merged state the command has reported so far. */
export interface StatusState {
  success_count?: number;
  error_count?: number;
  skipped_count?: number;
  expected_count?: number;
  last_status_message?: string;
  other_runtime_metadata?: Record<string, unknown>;
}

/** Berth keeps at most this many characters of a status message. */
export const MAX_STATUS_MESSAGE_LENGTH = 10_000;

/**
 * Parses one datagram. Unknown keys are ignored; a known key with a wrong type is left out and
 * named in `problems` (never with its value). Never throws.
 */
export function parseStatusDatagram(data: Buffer | string): { update: StatusState; problems: string[] } {
  const update: StatusState = {};
  const problems: string[] = [];
  const text = typeof data === 'string' ? data : data.toString('utf8');
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      problems.push('a line is not JSON');
      continue;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      problems.push('a line is not a JSON object');
      continue;
    }
    const record = parsed as Record<string, unknown>;
    for (const field of COUNT_FIELDS) {
      if (!(field in record)) continue;
      const value = record[field];
      if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) update[field] = value;
      else problems.push(`${field} must be a whole number ≥ 0`);
    }
    if ('last_status_message' in record) {
      const value = record.last_status_message;
      if (typeof value === 'string') update.last_status_message = value.slice(0, MAX_STATUS_MESSAGE_LENGTH);
      else problems.push('last_status_message must be a string');
    }
    if ('other_runtime_metadata' in record) {
      const value = record.other_runtime_metadata;
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) update.other_runtime_metadata = value as Record<string, unknown>;
      else problems.push('other_runtime_metadata must be a JSON object');
    }
  }
  return { update, problems };
}

/** `current` with `update`'s fields replacing its own. */
export function mergeStatus(current: StatusState, update: StatusState): StatusState {
  return { ...current, ...update };
}

export interface StatusListenerOptions {
  /** 0 = a free port chosen by the OS. */
  port: number;
  maxBytes: number;
  onUpdate(update: StatusState): void;
  onProblem(message: string): void;
}

/** A UDP socket on 127.0.0.1 receiving status datagrams. */
export class StatusListener {
  private constructor(
    private readonly socket: dgram.Socket,
    /** The port actually bound. */
    readonly port: number,
  ) {}

  /** Binds the socket; rejects when the port is taken. */
  static start(options: StatusListenerOptions): Promise<StatusListener> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket({ type: 'udp4' });
      socket.once('error', reject);
      socket.on('message', (message) => {
        if (message.length > options.maxBytes) {
          options.onProblem(`a status update of ${message.length} bytes was dropped: the limit is ${options.maxBytes} (--status-message-max-bytes)`);
          return;
        }
        const { update, problems } = parseStatusDatagram(message);
        for (const problem of problems) options.onProblem(`status update: ${problem}; that part was ignored`);
        if (Object.keys(update).length > 0) options.onUpdate(update);
      });
      socket.bind(options.port, '127.0.0.1', () => {
        socket.off('error', reject);
        socket.on('error', (error) => options.onProblem(`status listener: ${error.message}`));
        // Never keep the wrapper alive on its own account.
        socket.unref();
        resolve(new StatusListener(socket, socket.address().port));
      });
    });
  }

  close(): void {
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}
