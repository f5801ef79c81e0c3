/**
 * The HTTP seam between berth-wrap and Berth: one request at a time (`send`), and the retry rule
 * of the protocol (`sendWithRetries`): 429, 502, 503, 504 and no answer at all are retried with
 * exponential backoff, honouring Retry-After; everything else (500 included) is returned to the
 * caller to decide. Uses node:http(s) directly: no dependency, and nothing loaded when offline.
 */
import http from 'node:http';
import https from 'node:https';

export interface ApiAnswer {
  status: number;
  /** Parsed JSON, or the text when it is not JSON; null when empty. */
  body: unknown;
  /** From Retry-After, in milliseconds. */
  retryAfterMs: number | null;
}

/** No answer: connection refused, reset, DNS failure, or no answer within the request timeout. */
export class TransportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransportError';
  }
}

export interface BerthApiOptions {
  baseUrl: string;
  apiKey: string | null;
  requestTimeoutMs: number;
  userAgent: string;
}

export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** Sends requests to Berth's `/api/v1/`. */
export class BerthApi {
  private readonly agent: http.Agent;

  constructor(private readonly options: BerthApiOptions) {
    const secure = options.baseUrl.startsWith('https:');
    this.agent = secure ? new https.Agent({ keepAlive: true, maxSockets: 2 }) : new http.Agent({ keepAlive: true, maxSockets: 2 });
  }

  /**
   * One request. `path` starts after `/api/v1/`, e.g. `task_executions/`. Throws TransportError
   * only (also when `signal` aborts it).
   */
  send(method: 'POST' | 'PATCH' | 'GET', path: string, body?: unknown, signal?: AbortSignal): Promise<ApiAnswer> {
    const url = new URL(`${this.options.baseUrl}/api/v1/${path}`);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | number> = {
      accept: 'application/json',
      'user-agent': this.options.userAgent,
    };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const options = { method, headers, agent: this.agent, timeout: this.options.requestTimeoutMs, ...(signal ? { signal } : {}) };
      const request = transport.request(url, options, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', (error) => reject(new TransportError(`the answer from ${url.origin} broke off: ${error.message}`)));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = null;
          if (text !== '') {
            try {
              parsed = JSON.parse(text);
            } catch {
              parsed = text;
            }
          }
          resolve({ status: response.statusCode ?? 0, body: parsed, retryAfterMs: parseRetryAfter(response.headers['retry-after']) });
        });
      });
      request.on('timeout', () => request.destroy(new Error(`no answer within ${this.options.requestTimeoutMs / 1000} s`)));
      request.on('error', (error: NodeJS.ErrnoException) => {
        reject(new TransportError(`cannot reach Berth at ${url.origin}: ${error.code ? `${error.code} ` : ''}${error.message}`.trim()));
      });
      request.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | null {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return null;
  if (/^\s*\d+(\.\d+)?\s*$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** A readable reason from Berth's error body `{"error": {"code", "message"}}`. */
export function describeAnswer(answer: ApiAnswer): string {
  const body = answer.body as { error?: { code?: unknown; message?: unknown } } | string | null;
  if (body && typeof body === 'object' && body.error && typeof body.error.message === 'string') {
    return `HTTP ${answer.status} ${typeof body.error.code === 'string' ? `${body.error.code}: ` : ''}${body.error.message}`;
  }
  if (typeof body === 'string' && body.trim() !== '') return `HTTP ${answer.status}: ${body.trim().slice(0, 300)}`;
  return `HTTP ${answer.status}`;
}

export interface RetrySchedule {
  /** First wait; doubles each time up to `maxDelayMs`. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** Give up (return the last answer or error) once the next wait would end after this time. */
  deadline: number;
  now(): number;
  /** Resolves after `ms`, or early (false) when the run is being cancelled. */
  sleep(ms: number): Promise<boolean>;
}

export type RetryResult = { type: 'answer'; answer: ApiAnswer } | { type: 'unreachable'; message: string } | { type: 'cancelled' };

/**
 * Sends until the answer is not retryable, or the deadline. Returns the last answer (which may be
 * retryable when the deadline came first) or `unreachable` with the last transport error.
 */
export async function sendWithRetries(attempt: () => Promise<ApiAnswer>, schedule: RetrySchedule): Promise<RetryResult> {
  let delay = schedule.initialDelayMs;
  for (;;) {
    let result: RetryResult;
    let wait = delay;
    try {
      const answer = await attempt();
      result = { type: 'answer', answer };
      if (!RETRYABLE_STATUSES.has(answer.status)) return result;
      if (answer.retryAfterMs !== null) wait = answer.retryAfterMs;
    } catch (error) {
      if (!(error instanceof TransportError)) throw error;
      result = { type: 'unreachable', message: error.message };
    }
    if (schedule.now() + wait > schedule.deadline) return result;
    if (!(await schedule.sleep(wait))) return { type: 'cancelled' };
    delay = Math.min(delay * 2, schedule.maxDelayMs);
  }
}
