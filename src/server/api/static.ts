/**
 * Serves the web dashboard's built files (`dist/web`, written by `npm run build:web`) at `/`,
 * from the same origin as the API, so the browser needs no CORS and local-only mode works.
 *
 * - Files under `assets/` have content hashes in their names: cached for a year, immutable.
 *   Everything else (index.html) is revalidated on every load, so a new build shows at once.
 * - A path that names no file is a client-side route (`/tasks/hello`): it gets index.html, and the
 *   app draws the page; only missing files under `assets/` and top-level files are 404s.
 * - Paths are resolved inside the directory only: `..`, encoded or not, and NUL bytes are refused.
 * - Without a build the page says how to make one; the API works regardless.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** `<repository>/dist/web`, found from this file in `src/server/api` and in `dist/server/api` alike. */
export const DEFAULT_WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../dist/web');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** The page's policy: its own scripts, styles and API only; never framed. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Berth</title></head>
<body style="font-family: sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>The Berth dashboard is not built</h1>
<p>This server answers the API at <code>/api/v1/</code>, but there is no dashboard build to serve from <code>dist/web/</code>.</p>
<p>Build it in the Berth checkout with <code>npm run build:web</code> (or <code>npm run build</code>), then reload this page. <code>npm start</code> builds it for you.</p>
</body></html>
`;

/** Paths the dashboard never answers: the API's unknown routes keep their JSON 404. */
export function isApiPath(urlPath: string): boolean {
  return urlPath === '/api' || urlPath.startsWith('/api/') || urlPath === '/health' || urlPath.startsWith('/health/');
}

/**
 * The file a URL path names inside `root`, or null when the path is malformed or would leave
 * `root`. Never touches the file system.
 */
export function resolveInside(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const segments = decoded.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.some((s) => s === '..')) return null;
  const full = path.resolve(root, ...segments);
  if (full !== root && !full.startsWith(root + path.sep)) return null;
  return full;
}

function statFile(file: string): fs.Stats | null {
  try {
    const stat = fs.statSync(file);
    return stat.isFile() ? stat : null;
  } catch {
    return null;
  }
}

/**
 * Answers a GET or HEAD for a dashboard path from `webDir`. Used as the app's not-found handler
 * for everything that is not an API path, so the dashboard adds no routes to the API.
 */
export function sendDashboardFile(webDir: string, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const root = path.resolve(webDir);
  const urlPath = (request.url.split('?')[0] ?? '/').split('#')[0] ?? '/';
  void reply.header('x-content-type-options', 'nosniff');
  const indexFile = path.join(root, 'index.html');
  if (!statFile(indexFile)) {
    return reply.status(503).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(NOT_BUILT);
  }
  const file = resolveInside(root, urlPath);
  if (file === null) {
    return reply.status(400).header('content-type', 'text/plain; charset=utf-8').send(`Bad path: ${urlPath}\n`);
  }
  let target = file;
  let stat = file === root ? null : statFile(file);
  if (!stat) {
    // A missing build file (under /assets/, or a top-level file such as /robots.txt) is a real
    // 404; anything else is a client-side route (`/tasks/etl.v2`: names may hold dots) and gets the app.
    const segments = urlPath.split('/').filter(Boolean);
    if (segments[0] === 'assets' || (segments.length === 1 && path.extname(urlPath) !== '')) {
      return reply.status(404).header('content-type', 'text/plain; charset=utf-8').header('cache-control', 'no-store').send(`No file ${urlPath}\n`);
    }
    target = indexFile;
    stat = statFile(indexFile)!;
  }
  const ext = path.extname(target).toLowerCase();
  const hashedAsset = path.relative(root, target).split(path.sep)[0] === 'assets';
  void reply
    .status(200)
    .header('content-type', CONTENT_TYPES[ext] ?? 'application/octet-stream')
    .header('content-length', String(stat.size))
    .header('cache-control', hashedAsset ? 'public, max-age=31536000, immutable' : 'no-cache')
    .header('last-modified', stat.mtime.toUTCString());
  if (ext === '.html') void reply.header('content-security-policy', CSP).header('x-frame-options', 'DENY').header('referrer-policy', 'no-referrer');
  if (request.method === 'HEAD') return reply.send();
  return reply.send(fs.createReadStream(target));
}
