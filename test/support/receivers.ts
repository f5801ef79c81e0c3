/**
 * Real receivers for notification tests: an HTTP server that records every request (webhooks,
 * Slack, PagerDuty) and answers what the test says, and an SMTP server with STARTTLS and AUTH
 * (a self-signed certificate made with openssl for 127.0.0.1) that parses each message.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { waitFor } from './temp.js';

export interface ReceivedRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: any;
  at: number;
}

export interface HttpReceiver {
  url: string;
  requests(pathPrefix?: string): ReceivedRequest[];
  /** Answers requests under `pathPrefix` with `status` (default 200 for everything). */
  answer(pathPrefix: string, status: number, body?: string): void;
  waitFor(pathPrefix: string, count: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  stop(): Promise<void>;
}

export async function startHttpReceiver(): Promise<HttpReceiver> {
  const received: ReceivedRequest[] = [];
  const answers = new Map<string, { status: number; body: string }>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown = null;
      try {
        json = JSON.parse(body);
      } catch {
        json = null;
      }
      const p = req.url ?? '/';
      received.push({ path: p, headers: req.headers, body, json, at: Date.now() });
      const rule = [...answers.entries()].find(([prefix]) => p.startsWith(prefix))?.[1];
      const status = rule?.status ?? (p.startsWith('/pagerduty') ? 202 : 200);
      const text = rule?.body ?? (p.startsWith('/pagerduty') ? JSON.stringify({ status: 'success', message: 'Event processed' }) : 'ok');
      res.writeHead(status, { 'content-type': text.startsWith('{') ? 'application/json' : 'text/plain' });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const requests = (prefix = '/') => received.filter((r) => r.path.startsWith(prefix));
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    answer: (prefix, status, body) => answers.set(prefix, { status, body: body ?? (status >= 400 ? 'receiver error' : 'ok') }),
    waitFor: (prefix, count, timeoutMs = 20_000) =>
      waitFor(() => (requests(prefix).length >= count ? requests(prefix) : null), `${count} request(s) to ${prefix}`, timeoutMs),
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  /** Whether the session was upgraded with STARTTLS before the message. */
  secure: boolean;
  user: string | null;
}

export interface SmtpReceiver {
  host: string;
  port: number;
  /** The PEM of the self-signed certificate (the CA for clients). */
  caFile: string;
  mails(): ReceivedMail[];
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  /** Failed AUTH attempts (wrong user or password). */
  authFailures(): number;
  stop(): Promise<void>;
}

/** A self-signed certificate for 127.0.0.1 and localhost, written under `dir`. */
export function makeCertificate(dir: string): { key: string; cert: string; certFile: string } {
  const keyFile = path.join(dir, 'smtp.key');
  const certFile = path.join(dir, 'smtp.crt');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    { stdio: 'ignore' },
  );
  return { key: fs.readFileSync(keyFile, 'utf8'), cert: fs.readFileSync(certFile, 'utf8'), certFile };
}

/** An SMTP server on 127.0.0.1 that offers STARTTLS, requires it before AUTH, and accepts one user. */
export async function startSmtpReceiver(dir: string, credentials: { user: string; password: string }): Promise<SmtpReceiver> {
  const { key, cert, certFile } = makeCertificate(dir);
  const mails: ReceivedMail[] = [];
  let failures = 0;
  const server = new SMTPServer({
    key,
    cert,
    authMethods: ['PLAIN', 'LOGIN'],
    // AUTH only over TLS: the client must use STARTTLS first.
    allowInsecureAuth: false,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === credentials.user && auth.password === credentials.password) return callback(null, { user: auth.username });
      failures += 1;
      return callback(new Error('Invalid username or password'));
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            secure: session.secure,
            user: (session.user as string | undefined) ?? null,
          });
          callback();
        })
        .catch((error: Error) => callback(error));
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    host: '127.0.0.1',
    port,
    caFile: certFile,
    mails: () => [...mails],
    waitFor: (count, timeoutMs = 20_000) => waitFor(() => (mails.length >= count ? [...mails] : null), `${count} mail(s)`, timeoutMs),
    authFailures: () => failures,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
