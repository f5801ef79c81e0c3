/**
 * Status updates from a command that berth-wrap runs: counts and a message, sent to the wrapper
 * as UDP datagrams on 127.0.0.1 and forwarded by it to Berth. No dependencies; safe to call
 * outside berth-wrap (or with its listener off): then nothing is sent and `send` resolves false.
 *
 * ```ts
 * import { StatusClient } from 'berth-wrap/client';
 * const status = new StatusClient();
 * await status.send({ expected_count: rows.length });
 * for (const row of rows) {
 *   try { await load(row); status.increment({ success: 1 }); } catch { status.increment({ error: 1 }); }
 * }
 * await status.send({ last_status_message: 'loaded' });
 * status.close();
 * ```
 *
 * The wire format (one JSON object per line, in one datagram) is the one proc_wrapper's listener
 * takes too, so either wrapper accepts updates from either client.
 */
import dgram from 'node:dgram';

/** What a command may report. Counts are totals so far (not increments); later values replace earlier ones. */
export interface StatusUpdate {
  success_count?: number;
  error_count?: number;
  skipped_count?: number;
  expected_count?: number;
  last_status_message?: string;
  /** Any JSON object; Berth shows it with the execution. */
  other_runtime_metadata?: Record<string, unknown>;
}

export interface StatusClientOptions {
  /** Overrides the port berth-wrap put in the environment. */
  port?: number;
  /** Where to read the port from. (Default: process.env) */
  env?: Readonly<Record<string, string | undefined>>;
}

/** Largest datagram berth-wrap accepts by default (and about the most UDP carries). */
export const MAX_DATAGRAM_BYTES = 65_507;
const MAX_MESSAGE_LENGTH = 10_000;

/**
 * The status listener's port: `BERTH_WRAP_STATUS_PORT` (set by berth-wrap when its listener is on),
 * else proc_wrapper's `PROC_WRAPPER_STATUS_UPDATE_SOCKET_PORT`; null when neither is set.
 */
export function statusPortFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): number | null {
  for (const name of ['BERTH_WRAP_STATUS_PORT', 'PROC_WRAPPER_STATUS_UPDATE_SOCKET_PORT']) {
    const text = env[name];
    if (text && /^\d+$/.test(text)) {
      const port = Number(text);
      if (port > 0 && port < 65536) return port;
    }
  }
  return null;
}

/** The datagram for an update: one JSON line. Throws RangeError when it cannot fit. */
export function encodeStatusUpdate(update: StatusUpdate): Buffer {
  const body: StatusUpdate = { ...update };
  if (typeof body.last_status_message === 'string' && body.last_status_message.length > MAX_MESSAGE_LENGTH) {
    body.last_status_message = body.last_status_message.slice(0, MAX_MESSAGE_LENGTH);
  }
  const data = Buffer.from(JSON.stringify(body) + '\n', 'utf8');
  if (data.length > MAX_DATAGRAM_BYTES) {
    throw new RangeError(`a status update must fit in ${MAX_DATAGRAM_BYTES} bytes; this one has ${data.length} (other_runtime_metadata too large?)`);
  }
  return data;
}

/** Sends status updates to the berth-wrap that runs this process. */
export class StatusClient {
  /** The port updates go to; null when not running under a listening berth-wrap. */
  readonly port: number | null;
  private socket: dgram.Socket | null = null;
  private readonly totals: { success_count: number; error_count: number; skipped_count: number } = {
    success_count: 0,
    error_count: 0,
    skipped_count: 0,
  };

  constructor(options: StatusClientOptions = {}) {
    this.port = options.port ?? statusPortFromEnv(options.env);
  }

  /** Whether updates go anywhere. */
  get enabled(): boolean {
    return this.port !== null;
  }

  /** Sends an update; resolves true once handed to the OS, false when there is no listener to send to. */
  send(update: StatusUpdate): Promise<boolean> {
    if (this.port === null) return Promise.resolve(false);
    const data = encodeStatusUpdate(update);
    if (!this.socket) {
      this.socket = dgram.createSocket('udp4');
      // Never keep the command alive, and never crash it, for the sake of a status update.
      this.socket.on('error', () => undefined);
      this.socket.unref();
    }
    const socket = this.socket;
    const port = this.port;
    return new Promise((resolve) => socket.send(data, port, '127.0.0.1', (error) => resolve(!error)));
  }

  /**
   * Adds to running totals kept by this client and sends them (with `message` as the last status
   * message when given): `increment({ success: 1 })` after each item processed.
   */
  increment(counts: { success?: number; error?: number; skipped?: number }, message?: string): Promise<boolean> {
    this.totals.success_count += counts.success ?? 0;
    this.totals.error_count += counts.error ?? 0;
    this.totals.skipped_count += counts.skipped ?? 0;
    return this.send({ ...this.totals, ...(message !== undefined ? { last_status_message: message } : {}) });
  }

  close(): void {
    this.socket?.close();
    this.socket = null;
  }
}

/** One update with a throwaway client: `await sendStatusUpdate({ success_count: 10 })`. */
export async function sendStatusUpdate(update: StatusUpdate, options: StatusClientOptions = {}): Promise<boolean> {
  const client = new StatusClient(options);
  try {
    return await client.send(update);
  } finally {
    client.close();
  }
}
