import fs from 'node:fs';
import nodemailer from 'nodemailer';
import { coerceError } from '../../domain/errors.js';
import type { StoredMethod, StoredSecret } from '../../domain/notification-profile.js';
import { emailMessage, pagerDutyEvent, slackMessage, webhookBody, webhookSignature } from '../../domain/notification-message.js';
import type { NotificationContent } from '../../domain/notification-message.js';

/** What one try of one method came to. `error` names what failed and never holds a secret. */
export interface SendResult {
  ok: boolean;
  /** HTTP status or SMTP reply code, when the receiver answered. */
  status: number | null;
  error: string | null;
  /** Worth trying again (down, timeout, 5xx, 429); false when only a change of settings helps. */
  retryable: boolean;
}

export interface SendContext {
  /** Reads a delivery secret (reference or encrypted value); throws an Error saying why not. */
  secret(stored: StoredSecret): Promise<string>;
  deliveryUuid: string;
  now: number;
  /** Base URL of links in messages. */
  publicUrl: string;
  /** How long one request may take, in ms. (Default: 10000) */
  timeoutMs?: number;
}

const USER_AGENT = 'Berth-Notifier/1';

/** The host of a URL, for error messages (the rest of a Slack URL is the secret). */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'an invalid URL';
  }
}

function networkReason(thrown: unknown): string {
  const error = coerceError(thrown);
  if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'no answer in time (timed out)';
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `could not connect (${cause.code})`;
  // e.g. fetch's "bad port" for ports browsers refuse (25, 465, 587, …): say so.
  return (cause?.message ? `${error.message}: ${cause.message}` : error.message).slice(0, 200);
}

async function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
  what: string,
  okStatuses: (status: number) => boolean = (s) => s >= 200 && s < 300,
): Promise<SendResult> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT, ...headers },
      body,
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'manual',
    });
  } catch (thrown) {
    const reason = networkReason(thrown);
    // A port fetch refuses (possible only for a URL kept in a secret) fails the same way every time.
    const refusedPort = reason.includes('bad port');
    return {
      ok: false,
      status: null,
      error: `${what} at ${hostOf(url)}: ${reason}${refusedPort ? ' (not retried: HTTP clients refuse this port; use another one)' : ''}`,
      retryable: !refusedPort,
    };
  }
  const text = await response.text().catch(() => '');
  if (okStatuses(response.status)) return { ok: true, status: response.status, error: null, retryable: false };
  const retryable = response.status >= 500 || response.status === 408 || response.status === 429;
  const snippet = text.replace(/\s+/g, ' ').trim().slice(0, 200);
  return {
    ok: false,
    status: response.status,
    error: `${what} at ${hostOf(url)} answered HTTP ${response.status}${snippet ? `: ${snippet}` : ''}${retryable ? '' : ' (not retried: check the method\'s settings)'}`,
    retryable,
  };
}

function secretOf(method: StoredMethod, field: string): StoredSecret | undefined {
  return method[field] as StoredSecret | undefined;
}

/**
 * Sends `content` through one method. Never throws: every problem (an unreadable secret, a
 * refused connection, an error answer) is a `SendResult` with a message that names the method's
 * host but no secret.
 */
export async function sendThroughMethod(method: StoredMethod, content: NotificationContent, ctx: SendContext): Promise<SendResult> {
  const timeoutMs = ctx.timeoutMs ?? 10_000;
  const readSecret = async (field: string): Promise<{ value: string } | { error: SendResult }> => {
    const stored = secretOf(method, field);
    if (!stored) return { value: '' };
    try {
      return { value: await ctx.secret(stored) };
    } catch (thrown) {
      return { error: { ok: false, status: null, error: `${field}: ${coerceError(thrown).message}`, retryable: true } };
    }
  };
  try {
    switch (method.type) {
      case 'webhook': {
        const secret = await readSecret('secret');
        if ('error' in secret) return secret.error;
        const body = JSON.stringify(webhookBody(content, ctx.deliveryUuid, ctx.now));
        const headers: Record<string, string> = {
          ...(method.headers as Record<string, string> | undefined),
          'x-berth-event': content.event.type,
          'x-berth-action': content.action,
          'x-berth-delivery': ctx.deliveryUuid,
        };
        if (secret.value) headers['x-berth-signature'] = webhookSignature(secret.value, body, ctx.now);
        return await postJson(String(method.url), body, headers, timeoutMs, 'the webhook');
      }
      case 'slack': {
        const url = await readSecret('webhook_url');
        if ('error' in url) return url.error;
        if (!/^https?:\/\//.test(url.value)) {
          return { ok: false, status: null, error: 'webhook_url: the secret is not an http(s) URL', retryable: false };
        }
        return await postJson(url.value, JSON.stringify(slackMessage(content)), {}, timeoutMs, 'Slack');
      }
      case 'pagerduty': {
        const key = await readSecret('routing_key');
        if ('error' in key) return key.error;
        const event = pagerDutyEvent(content, key.value, ctx.publicUrl);
        return await postJson(String(method.events_url), JSON.stringify(event), {}, timeoutMs, 'PagerDuty');
      }
      case 'email':
        return await sendEmail(method, content, timeoutMs, readSecret);
      default:
        return { ok: false, status: null, error: `unknown method type "${String(method.type)}"`, retryable: false };
    }
  } catch (thrown) {
    return { ok: false, status: null, error: `sending failed: ${coerceError(thrown).message.slice(0, 200)}`, retryable: true };
  }
}

async function sendEmail(
  method: StoredMethod,
  content: NotificationContent,
  timeoutMs: number,
  readSecret: (field: string) => Promise<{ value: string } | { error: SendResult }>,
): Promise<SendResult> {
  const password = await readSecret('password');
  if ('error' in password) return password.error;
  const security = method.security as 'starttls' | 'tls' | 'none';
  const caFile = method.ca_file as string | undefined;
  let ca: string | undefined;
  if (caFile) {
    try {
      ca = fs.readFileSync(caFile, 'utf8');
    } catch (thrown) {
      return { ok: false, status: null, error: `ca_file ${caFile} could not be read: ${(thrown as { code?: string }).code ?? 'error'}`, retryable: true };
    }
  }
  const host = String(method.host);
  const port = Number(method.port);
  const transport = nodemailer.createTransport({
    host,
    port,
    secure: security === 'tls',
    requireTLS: security === 'starttls',
    ignoreTLS: security === 'none',
    ...(method.username ? { auth: { user: String(method.username), pass: password.value } } : {}),
    ...(ca ? { tls: { ca } } : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  const { subject, text } = emailMessage(content);
  try {
    await transport.sendMail({
      from: String(method.from),
      to: (method.to as string[]).join(', '),
      subject,
      text,
      headers: { 'X-Berth-Event': String(content.event.type), 'X-Berth-Delivery': content.event.uuid },
    });
    return { ok: true, status: 250, error: null, retryable: false };
  } catch (thrown) {
    const error = thrown as { responseCode?: number; code?: string; message?: string };
    const code = typeof error.responseCode === 'number' ? error.responseCode : null;
    // 5xx replies are permanent (bad recipient, refused login); anything else may pass later.
    const retryable = code === null || code < 500;
    const reason = (error.message ?? String(thrown)).replace(/\s+/g, ' ').slice(0, 200);
    return {
      ok: false,
      status: code,
      error: `SMTP ${host}:${port}: ${error.code ? `${error.code}: ` : ''}${reason}${retryable ? '' : ' (not retried: check the method\'s settings)'}`,
      retryable,
    };
  } finally {
    transport.close();
  }
}
