import Fastify from 'fastify';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { formatIssues } from '../../domain/common.js';
import { BerthError, coerceError } from '../../domain/errors.js';
import type { ErrorCode } from '../../domain/errors.js';
import { Principal } from '../auth.js';
import { isLoopback } from '../config.js';
import { buildOpenApiDocument } from './openapi.js';
import { DEFAULT_WEB_DIR, isApiPath, sendDashboardFile } from './static.js';
import type { RouteDefinition } from './route.js';
import { ALL_ROUTES } from './routes/index.js';
import type { Services } from './services.js';

const BODY_LIMIT = 1024 * 1024;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

function errorBody(code: ErrorCode, message: string, details?: Record<string, unknown>): ErrorBody {
  return { error: details ? { code, message, details } : { code, message } };
}

/** Maps anything thrown in a request to the catalogue's code and status. */
function toApiError(thrown: unknown): { status: number; body: ErrorBody; internal: boolean } {
  if (thrown instanceof BerthError) {
    return { status: thrown.status, body: errorBody(thrown.code, thrown.message, thrown.details), internal: false };
  }
  const e = thrown as { code?: string; statusCode?: number; message?: string };
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return {
        status: 400,
        body: errorBody('MALFORMED_JSON', `The request body is not valid JSON: ${e.message ?? 'parse error'}`),
        internal: false,
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        body: errorBody('UNSUPPORTED_MEDIA_TYPE', 'Send the request body as JSON with "Content-Type: application/json".'),
        internal: false,
      };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, body: errorBody('PAYLOAD_TOO_LARGE', `The request body is larger than ${BODY_LIMIT} bytes.`), internal: false };
  }
  if (thrown instanceof SyntaxError || (e.statusCode === 400 && /JSON/i.test(e.message ?? ''))) {
    return { status: 400, body: errorBody('MALFORMED_JSON', `The request body is not valid JSON: ${e.message ?? ''}`), internal: false };
  }
  return { status: 500, body: errorBody('INTERNAL_ERROR', 'An unexpected error inside Berth; the server log has the details.'), internal: true };
}

function parsePart<T extends z.ZodType>(schema: T | undefined, value: unknown, where: 'body' | 'query' | 'path'): z.output<T> {
  if (!schema) return undefined as z.output<T>;
  const parsed = schema.safeParse(value ?? (where === 'body' ? undefined : {}));
  if (parsed.success) return parsed.data;
  const issues = formatIssues(parsed.error).map((i) => ({ ...i, path: i.path === '(root)' ? where : `${where}.${i.path}` }));
  const first = issues[0]!;
  throw new BerthError(
    'VALIDATION_FAILED',
    `Invalid request: ${first.path}: ${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`,
    { issues },
  );
}

/**
 * In local-only mode a request without a key is trusted when it comes from this machine and is
 * not a cross-site browser request: the socket is loopback, the Host header names a loopback
 * address (no DNS rebinding), and any Origin header is this server's own.
 */
function isTrustedLocalRequest(request: FastifyRequest): boolean {
  const remote = request.socket.remoteAddress ?? '';
  if (!(remote === '::1' || remote.startsWith('127.') || remote.startsWith('::ffff:127.'))) return false;
  const host = (request.headers.host ?? '').replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  if (!isLoopback(host)) return false;
  const origin = request.headers.origin;
  if (origin !== undefined) {
    try {
      const url = new URL(origin);
      if (url.host !== request.headers.host) return false;
    } catch {
      return false;
    }
  }
  return true;
}

async function authenticate(route: RouteDefinition, request: FastifyRequest, services: Services): Promise<Principal> {
  const header = request.headers.authorization;
  if (route.scope === 'public' && !header) return new Principal('reporter', null);
  let principal: Principal;
  if (!header && services.localOnly && isTrustedLocalRequest(request)) principal = new Principal('admin', null);
  else principal = await services.keys.authenticate(header);
  if (route.scope !== 'public') principal.assertScope(route.scope);
  return principal;
}

const REGISTERED = new WeakMap<FastifyInstance, { method: string; url: string }[]>();

/** Every method and path the app registered (for the test that they are all documented). */
export function registeredRoutes(app: FastifyInstance): readonly { method: string; url: string }[] {
  return REGISTERED.get(app) ?? [];
}

/**
 * Builds the HTTP app (without listening, so tests use `app.inject()`). Every route comes from
 * `ALL_ROUTES`; every error leaves as `{"error": {"code", "message", "details"?}}`. Other GET
 * paths serve the web dashboard from `webDir` (see `static.ts`).
 */
export async function buildApp(services: Services, webDir: string = DEFAULT_WEB_DIR): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT,
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true },
    return503OnClosing: true,
    requestIdHeader: 'x-request-id',
    genReqId: () => Math.random().toString(36).slice(2, 12),
  });
  // Fastify parses text/plain by default; the API takes JSON only (anything else is 415).
  app.removeContentTypeParser('text/plain');
  const log = services.ctx.log;
  const registered: { method: string; url: string }[] = [];
  REGISTERED.set(app, registered);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) registered.push({ method: String(method), url: route.url });
  });

  app.setErrorHandler((thrown, request, reply) => {
    const { status, body, internal } = toApiError(thrown);
    if (internal) log.error('request failed', { request_id: request.id, method: request.method, url: request.url, error: coerceError(thrown) });
    void reply.status(status).header('x-request-id', request.id).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    // Everything outside the API is the web dashboard (static files, client-side routes).
    const urlPath = request.url.split('?')[0] ?? '/';
    if ((request.method === 'GET' || request.method === 'HEAD') && !isApiPath(urlPath)) {
      return sendDashboardFile(webDir, request, reply);
    }
    void reply
      .status(404)
      .send(errorBody('ROUTE_NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}. The API is described at /api/openapi.json.`));
  });
  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });

  for (const route of ALL_ROUTES) {
    app.route({
      method: route.method,
      url: route.url,
      handler: async (request, reply) => {
        const principal = await authenticate(route, request, services);
        const params = parsePart(route.params, request.params, 'path');
        const query = parsePart(route.query, request.query, 'query');
        const body = parsePart(route.body, request.body, 'body');
        const result = await route.handler({ params, query, body, principal, services, request, reply });
        if (result.body === undefined) return reply.status(result.status).send();
        return reply.status(result.status).send(result.body);
      },
    });
  }

  const document = buildOpenApiDocument(ALL_ROUTES);
  app.get('/api/openapi.json', async () => document);

  return app;
}
