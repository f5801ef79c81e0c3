/**
 * Test harness: an HTTP proxy between Berth's AWS SDK clients and moto.
 *
 * moto never throttles, never fails and cannot say how often it was called. Acceptance tests for
 * the aws-ecs executor need both: "one DescribeTasks per 100 tasks" is a count of HTTP calls, and
 * "a RunTask whose answer was lost is not launched twice" needs a call that takes effect but never
 * answers. Point the SDK clients at `proxy.endpoint` instead of moto's endpoint; everything is
 * forwarded byte for byte unless a rule from `inject` says otherwise.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A JSON value as parsed from a request or answer body. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** One HTTP call the proxy received. */
export interface CallRecord {
  /** The short AWS action, e.g. `DescribeTasks`, `GetLogEvents`, `DescribeVpcs`. */
  action: string;
  /** The JSON-protocol target prefix (`AmazonEC2ContainerServiceV20141113`, `Logs_20140328`) or `query`. */
  service: string;
  /** When the proxy received it (epoch ms). */
  time: number;
  /** The HTTP status the client got; `null` while pending or when it got no answer (dropped). */
  status: number | null;
  /** What a matching rule did to it, if any. */
  injected?: 'respond' | 'drop' | 'forward-then-drop' | 'forward-then-hold' | 'rewrite' | 'delay';
  /** The parsed JSON request body (JSON-protocol services). */
  body?: Json;
  /** The form parameters (query-protocol services: EC2, STS). */
  params?: Record<string, string>;
}

/** A canned answer; an object `body` is sent as an AWS error (see `inject`). */
export interface CannedResponse {
  status: number;
  /** An object is sent as JSON (or as an AWS XML error to EC2/STS); a string is sent as is. */
  body?: Json;
  headers?: Record<string, string>;
}

/** Changes a successful (2xx, JSON) answer from moto before the client sees it. */
export interface RewriteResponse {
  /** Gets the parsed answer; returns the answer to send (mutating and returning `json` is fine). */
  rewrite(json: Json): Json;
}

/**
 * What a rule does with a matching call:
 * - a `CannedResponse`: answer without forwarding (moto never sees the call);
 * - `'forward-then-drop'`: forward (the call takes effect in moto), then destroy the client's
 *   connection without answering: an unknown outcome, as when a process crashes mid-call;
 * - `'drop'`: destroy the connection without forwarding (the call never took effect);
 * - `'forward-then-hold'`: forward (the call takes effect in moto), then never answer: the caller
 *   waits, as when it is killed while its call is in flight;
 * - a `RewriteResponse`: forward and rewrite the answer;
 * - absent: forward unchanged (useful with `delayMs`).
 */
export type Fault = CannedResponse | RewriteResponse | 'forward-then-drop' | 'forward-then-hold' | 'drop';

/** One fault-injection rule. Rules are tried in the order they were added; the first that matches applies. */
export interface InjectionRule {
  /** The short action name (`RunTask`), or `*` for every call. */
  action: string;
  /** How many matching calls it applies to (default 1; `Infinity` for all). */
  times?: number;
  respond?: Fault;
  /** Waits this long before doing anything else with the call. */
  delayMs?: number;
  /** Narrows the rule, e.g. to one task ARN in a DescribeTasks body. */
  match?: (call: { action: string; body?: Json; params?: Record<string, string> }) => boolean;
}

/** A handle on an injected rule. */
export interface Injection {
  /** How many calls it has applied to so far. */
  hits(): number;
  /** Removes it before it is used up. */
  remove(): void;
}

/** A running proxy in front of one target (normally moto). */
export interface AwsProxy {
  /** `http://127.0.0.1:PORT`: the `endpoint` for SDK clients. */
  endpoint: string;
  inject(rule: InjectionRule): Injection;
  clearInjections(): void;
  /** How many calls were received (with `action`: of that action), including faulted ones. */
  calls(action?: string): number;
  /** A copy of every call received since the last `resetCounts`, oldest first. */
  callLog(): CallRecord[];
  resetCounts(): void;
  /** Polls until `calls(action)` reaches `atLeast` (no fixed sleeps in tests); throws after `timeoutMs`. */
  waitForCalls(action: string, atLeast: number, timeoutMs?: number): Promise<void>;
  /** Closes the proxy and every connection through it. Call in `afterAll`. */
  stop(): Promise<void>;
}

interface ActiveRule {
  rule: InjectionRule;
  remaining: number;
  hits: number;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade']);

function isRewrite(fault: Fault): fault is RewriteResponse {
  return typeof fault === 'object' && 'rewrite' in fault;
}

function parseJson(text: string): Json | undefined {
  try {
    return JSON.parse(text) as Json;
  } catch {
    return undefined;
  }
}

function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Identifies the call the way AWS does: X-Amz-Target for JSON protocols, `Action=` for query ones. */
function identify(req: http.IncomingMessage, raw: Buffer): Pick<CallRecord, 'action' | 'service' | 'body' | 'params'> {
  const target = req.headers['x-amz-target'];
  const text = raw.toString('utf8');
  if (typeof target === 'string' && target.includes('.')) {
    const dot = target.lastIndexOf('.');
    const body = text ? parseJson(text) : undefined;
    return { action: target.slice(dot + 1), service: target.slice(0, dot), ...(body === undefined ? {} : { body }) };
  }
  if ((req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
    const params = Object.fromEntries(new URLSearchParams(text));
    if (params.Action) return { action: params.Action, service: 'query', params };
  }
  return { action: `${req.method ?? 'GET'} ${(req.url ?? '/').split('?')[0]}`, service: 'rest' };
}

/**
 * Renders a canned answer the way the real service would, so the SDK maps it to the right
 * exception `name`: JSON protocols read `x-amzn-ErrorType` / `__type`; EC2 and STS read XML.
 */
function render(canned: CannedResponse, req: http.IncomingMessage, call: CallRecord): { headers: Record<string, string>; payload: string } {
  const requestId = randomUUID();
  const headers: Record<string, string> = { 'x-amzn-requestid': requestId };
  const { body } = canned;
  let payload = '';
  if (typeof body === 'string') {
    headers['content-type'] = 'text/plain';
    payload = body;
  } else if (body !== undefined) {
    const errorType = typeof body === 'object' && body !== null && !Array.isArray(body) && typeof body.__type === 'string' ? body.__type : undefined;
    const message = typeof body === 'object' && body !== null && !Array.isArray(body) && typeof body.message === 'string' ? body.message : '';
    if (call.service === 'query' && errorType) {
      headers['content-type'] = 'text/xml';
      payload =
        call.params?.Version === '2016-11-15'
          ? `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${xmlEscape(errorType)}</Code><Message>${xmlEscape(message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`
          : `<ErrorResponse><Error><Type>${canned.status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${xmlEscape(errorType)}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
    } else {
      const requestType = req.headers['content-type'] ?? '';
      headers['content-type'] = requestType.startsWith('application/x-amz-json') ? requestType : 'application/x-amz-json-1.1';
      if (errorType) headers['x-amzn-errortype'] = errorType;
      payload = JSON.stringify(body);
    }
  }
  return { headers: { ...headers, ...canned.headers, 'content-length': String(Buffer.byteLength(payload)) }, payload };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Starts a proxy on a free port in front of `targetEndpoint` (e.g. moto's `http://127.0.0.1:PORT`).
 * Requests are forwarded unaltered (the SDK signs them; moto checks no signature).
 */
export async function startAwsProxy(targetEndpoint: string): Promise<AwsProxy> {
  const target = new URL(targetEndpoint);
  const agent = new http.Agent({ keepAlive: true });
  let rules: ActiveRule[] = [];
  let log: CallRecord[] = [];

  const take = (call: CallRecord): InjectionRule | undefined => {
    for (const active of rules) {
      if (active.remaining <= 0) continue;
      if (active.rule.action !== '*' && active.rule.action !== call.action) continue;
      if (active.rule.match && !active.rule.match({ action: call.action, body: call.body, params: call.params })) continue;
      active.remaining -= 1;
      active.hits += 1;
      return active.rule;
    }
    return undefined;
  };

  /** Sends the call to the target; resolves with its whole answer. */
  const forward = (req: http.IncomingMessage, raw: Buffer) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; payload: Buffer }>((resolve, reject) => {
      const upstream = http.request(
        { protocol: target.protocol, hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.on('end', () => resolve({ status: answer.statusCode ?? 502, headers: answer.headers, payload: Buffer.concat(chunks) }));
          answer.on('error', reject);
        },
      );
      upstream.on('error', reject);
      upstream.end(raw);
    });

  const reply = (res: http.ServerResponse, call: CallRecord, status: number, headers: http.OutgoingHttpHeaders, payload: Buffer | string) => {
    const clean: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(headers)) if (!HOP_BY_HOP.has(name.toLowerCase()) && value !== undefined) clean[name] = value;
    call.status = status;
    res.writeHead(status, clean);
    res.end(payload);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer) => {
    const call: CallRecord = { ...identify(req, raw), time: Date.now(), status: null };
    log.push(call);
    const rule = take(call);
    if (rule?.delayMs) {
      call.injected = 'delay';
      await delay(rule.delayMs);
    }
    const fault = rule?.respond;
    if (fault === 'drop') {
      call.injected = 'drop';
      req.socket.destroy();
      return;
    }
    if (fault !== undefined && fault !== 'forward-then-drop' && fault !== 'forward-then-hold' && !isRewrite(fault)) {
      call.injected = 'respond';
      const { headers, payload } = render(fault, req, call);
      reply(res, call, fault.status, headers, payload);
      return;
    }
    let answer;
    try {
      answer = await forward(req, raw);
    } catch (error) {
      reply(res, call, 502, { 'content-type': 'text/plain' }, `aws-proxy: ${targetEndpoint} failed: ${String(error)}`);
      return;
    }
    if (fault === 'forward-then-drop') {
      call.injected = 'forward-then-drop';
      req.socket.destroy();
      return;
    }
    if (fault === 'forward-then-hold') {
      // Answered only when the proxy stops (or the caller goes away).
      call.injected = 'forward-then-hold';
      return;
    }
    if (fault !== undefined && isRewrite(fault) && answer.status >= 200 && answer.status < 300) {
      const json = parseJson(answer.payload.toString('utf8'));
      if (json !== undefined) {
        call.injected = 'rewrite';
        const payload = JSON.stringify(fault.rewrite(json));
        const headers: http.IncomingHttpHeaders = { ...answer.headers, 'content-length': String(Buffer.byteLength(payload)) };
        delete headers['x-amz-crc32']; // a checksum of the old body would be wrong
        reply(res, call, answer.status, headers, payload);
        return;
      }
    }
    reply(res, call, answer.status, answer.headers, answer.payload);
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks)).catch((error: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`aws-proxy: ${String(error)}`);
        } else {
          res.destroy();
        }
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const calls = (action?: string) => (action === undefined ? log.length : log.filter((c) => c.action === action).length);

  return {
    endpoint: `http://127.0.0.1:${port}`,
    inject: (rule) => {
      const active: ActiveRule = { rule, remaining: rule.times ?? 1, hits: 0 };
      rules.push(active);
      return {
        hits: () => active.hits,
        remove: () => {
          rules = rules.filter((r) => r !== active);
        },
      };
    },
    clearInjections: () => {
      rules = [];
    },
    calls,
    callLog: () => log.map((c) => ({ ...c })),
    resetCounts: () => {
      log = [];
    },
    waitForCalls: async (action, atLeast, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      while (calls(action) < atLeast) {
        if (Date.now() > deadline) throw new Error(`aws-proxy: ${calls(action)} of ${atLeast} ${action} calls after ${timeoutMs} ms`);
        await delay(10);
      }
    },
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      agent.destroy();
      await closed;
    },
  };
}
