import fs from 'node:fs';
import path from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/temp.js';
import { isApiPath, resolveInside, sendDashboardFile } from './static.js';

function appFor(webDir: string) {
  const app = Fastify();
  app.setNotFoundHandler((request, reply) => {
    const urlPath = request.url.split('?')[0] ?? '/';
    if ((request.method === 'GET' || request.method === 'HEAD') && !isApiPath(urlPath)) return sendDashboardFile(webDir, request, reply);
    return reply.status(404).send({ error: { code: 'ROUTE_NOT_FOUND' } });
  });
  return app;
}

describe('resolveInside', () => {
  it('keeps paths inside the root and refuses ways out', () => {
    expect(resolveInside('/srv/web', '/assets/a.js')).toBe('/srv/web/assets/a.js');
    expect(resolveInside('/srv/web', '/')).toBe('/srv/web');
    expect(resolveInside('/srv/web', '/../etc/passwd')).toBeNull();
    expect(resolveInside('/srv/web', '/%2e%2e/etc/passwd')).toBeNull();
    expect(resolveInside('/srv/web', '/assets/..%2f..%2fsecret')).toBeNull();
    expect(resolveInside('/srv/web', '/a%00b')).toBeNull();
    expect(resolveInside('/srv/web', '/%E0%A4%A')).toBeNull();
    expect(resolveInside('/srv/web', '/..\\secret')).toBeNull();
  });
});

describe('the dashboard files', () => {
  const temp = tempDir('berth-web-');
  const web = path.join(temp.dir, 'web');
  const app = appFor(web);
  beforeAll(() => {
    fs.mkdirSync(path.join(web, 'assets'), { recursive: true });
    fs.writeFileSync(path.join(web, 'index.html'), '<!doctype html><title>Berth</title>');
    fs.writeFileSync(path.join(web, 'assets', 'index-abc123.js'), 'console.log(1)');
    fs.writeFileSync(path.join(web, 'assets', 'index-abc123.css'), 'body{}');
    fs.writeFileSync(path.join(web, 'favicon.svg'), '<svg/>');
    fs.writeFileSync(path.join(temp.dir, 'secret.txt'), 'do not serve');
  });
  afterAll(async () => {
    await app.close();
    temp.cleanup();
  });

  it('serves index.html at / and for client routes, revalidated on every load, with a content security policy', async () => {
    for (const url of ['/', '/tasks', '/tasks/etl.v2', '/run-environments/prod.eu', '/executions/0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f?x=1']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['content-security-policy']).toContain("default-src 'self'");
      expect(res.body).toContain('<title>Berth</title>');
    }
  });

  it('serves hashed assets with their content type, cached for a year', async () => {
    const js = await app.inject({ method: 'GET', url: '/assets/index-abc123.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.body).toBe('console.log(1)');
    const css = await app.inject({ method: 'GET', url: '/assets/index-abc123.css' });
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    const svg = await app.inject({ method: 'GET', url: '/favicon.svg' });
    expect(svg.headers['content-type']).toBe('image/svg+xml');
    expect(svg.headers['cache-control']).toBe('no-cache');
    const head = await app.inject({ method: 'HEAD', url: '/assets/index-abc123.js' });
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe('');
  });

  it('answers 404 for a missing build file instead of the app', async () => {
    const res = await app.inject({ method: 'GET', url: '/assets/gone-123.js' });
    expect(res.statusCode).toBe(404);
    expect(res.body).toContain('/assets/gone-123.js');
    const robots = await app.inject({ method: 'GET', url: '/robots.txt' });
    expect(robots.statusCode).toBe(404);
  });

  it('never serves a file outside the directory', async () => {
    for (const url of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/%2e%2e/%2e%2e/secret.txt', '/..%2fsecret.txt']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.body, url).not.toContain('do not serve');
    }
  });

  it('leaves API paths to the API', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: { code: 'ROUTE_NOT_FOUND' } });
  });

  it('says how to build the dashboard when there is no build', async () => {
    const bare = appFor(path.join(temp.dir, 'missing'));
    const res = await bare.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).toContain('npm run build:web');
    await bare.close();
  });
});
