import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BerthApi, describeAnswer, parseRetryAfter, sendWithRetries } from './berth-api.js';
import type { ApiAnswer } from './berth-api.js';

/** A real HTTP server answering from a script of (status, headers) per request. */
let server: http.Server;
let base = '';
let script: { status: number; headers?: Record<string, string>; body?: string }[] = [];
const seen: { method: string; url: string; auth: string | undefined; body: string }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization, body });
      const next = script.shift() ?? { status: 200 };
      res.writeHead(next.status, next.headers).end(next.body ?? '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function schedule(deadlineMs: number) {
  const waits: number[] = [];
  return {
    waits,
    schedule: {
      initialDelayMs: 10,
      maxDelayMs: 40,
      deadline: Date.now() + deadlineMs,
      now: () => Date.now(),
      sleep: async (ms: number) => {
        waits.push(ms);
        return true;
      },
    },
  };
}

describe('BerthApi', () => {
  it('sends JSON with the bearer key under /api/v1/', async () => {
    const api = new BerthApi({ baseUrl: base, apiKey: 'k1', requestTimeoutMs: 2000, userAgent: 'test' });
    script = [{ status: 201, body: '{"uuid":"u"}' }];
    seen.length = 0;
    const answer = await api.send('POST', 'task_executions/', { a: 1 });
    api.close();
    expect(answer).toEqual({ status: 201, body: { uuid: 'u' }, retryAfterMs: null });
    expect(seen).toEqual([{ method: 'POST', url: '/api/v1/task_executions/', auth: 'Bearer k1', body: '{"a":1}' }]);
  });

  it('retries 429/502/503/504 with doubling waits, honouring Retry-After, until an answer that is not retryable', async () => {
    const api = new BerthApi({ baseUrl: base, apiKey: null, requestTimeoutMs: 2000, userAgent: 'test' });
    script = [{ status: 503 }, { status: 429, headers: { 'retry-after': '0.03' } }, { status: 502 }, { status: 504 }, { status: 204 }];
    const { waits, schedule: s } = schedule(10_000);
    const result = await sendWithRetries(() => api.send('PATCH', 'x/'), s);
    api.close();
    expect(result).toMatchObject({ type: 'answer', answer: { status: 204 } });
    expect(waits).toEqual([10, 30, 40, 40]);
  });

  it('does not retry 500, 4xx or 409', async () => {
    const api = new BerthApi({ baseUrl: base, apiKey: null, requestTimeoutMs: 2000, userAgent: 'test' });
    for (const status of [500, 400, 403, 409]) {
      script = [{ status }, { status: 200 }];
      const { waits, schedule: s } = schedule(10_000);
      const result = await sendWithRetries(() => api.send('PATCH', 'x/'), s);
      expect(result).toMatchObject({ type: 'answer', answer: { status } });
      expect(waits).toEqual([]);
      script = [];
    }
    api.close();
  });

  it('gives up at the deadline with the last problem', async () => {
    const api = new BerthApi({ baseUrl: 'http://127.0.0.1:9', apiKey: null, requestTimeoutMs: 2000, userAgent: 'test' });
    const { waits, schedule: s } = schedule(25);
    const result = await sendWithRetries(() => api.send('PATCH', 'x/'), s);
    api.close();
    expect(result.type).toBe('unreachable');
    if (result.type === 'unreachable') expect(result.message).toMatch(/^cannot reach Berth at http:\/\/127\.0\.0\.1:9: ECONNREFUSED/);
    expect(waits.length).toBeLessThanOrEqual(2);
  });

  it('times out a request that gets no answer', async () => {
    const silent = http.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const api = new BerthApi({ baseUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, apiKey: null, requestTimeoutMs: 100, userAgent: 'test' });
    try {
      await expect(api.send('GET', 'x/')).rejects.toThrow(/no answer within 0.1 s/);
    } finally {
      api.close();
      silent.closeAllConnections();
      silent.close();
    }
  });
});

describe('answers', () => {
  it('reads Retry-After as seconds or a date', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(parseRetryAfter('soon')).toBeNull();
    expect(parseRetryAfter(undefined)).toBeNull();
  });

  it("describes Berth's error bodies", () => {
    const answer = (body: unknown): ApiAnswer => ({ status: 404, body, retryAfterMs: null });
    expect(describeAnswer(answer({ error: { code: 'TASK_NOT_FOUND', message: 'No Task named "x".' } }))).toBe('HTTP 404 TASK_NOT_FOUND: No Task named "x".');
    expect(describeAnswer(answer('<html>oops</html>'))).toBe('HTTP 404: <html>oops</html>');
    expect(describeAnswer(answer(null))).toBe('HTTP 404');
  });
});
