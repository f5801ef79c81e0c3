import { CliError } from './errors.js';
import type { CliIssue } from './errors.js';
import type { Settings } from './settings.js';

export { CliError } from './errors.js';

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
}

const USER_AGENT = 'berth-cli/0.1.0';

/** Codes of network errors that mean "nothing answers at that address". */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET']);

/** A small client for Berth's HTTP API: JSON in, JSON out, errors as `CliError`. */
export class ApiClient {
  constructor(private readonly settings: Settings) {}

  get baseUrl(): string {
    return this.settings.url;
  }

  get hasKey(): boolean {
    return this.settings.apiKey !== null;
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, query ? { query } : {});
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, { body });
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, { body });
  }

  delete<T>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = new URL(this.settings.url + path);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': USER_AGENT };
    if (this.settings.apiKey) headers.authorization = `Bearer ${this.settings.apiKey}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      });
    } catch (error) {
      throw this.networkError(error);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw this.networkError(error);
    }
    let parsed: unknown = undefined;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        if (!response.ok) {
          throw new CliError(`${method} ${path} failed with HTTP ${response.status}: ${text.slice(0, 200)}`, { status: response.status });
        }
        throw new CliError(`${this.settings.url} answered something that is not JSON; is it a Berth server?`);
      }
    }
    if (!response.ok) throw this.apiError(response.status, parsed, method, path);
    return parsed as T;
  }

  private apiError(status: number, body: unknown, method: string, path: string): CliError {
    const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
    if (!error || typeof error.message !== 'string') {
      return new CliError(`${method} ${path} failed with HTTP ${status}`, { status });
    }
    const details = error.details && typeof error.details === 'object' ? (error.details as Record<string, unknown>) : undefined;
    const issues: CliIssue[] = Array.isArray(details?.issues)
      ? (details.issues as unknown[]).flatMap((i) => {
          const issue = i as { path?: unknown; message?: unknown };
          return typeof issue.message === 'string' ? [{ path: String(issue.path ?? ''), message: issue.message }] : [];
        })
      : [];
    const code = typeof error.code === 'string' ? error.code : undefined;
    let message = error.message;
    if (code === 'UNAUTHENTICATED' && !this.hasKey) {
      message += ' Set BERTH_API_KEY (or api_key in the config file).';
    }
    return new CliError(message, { code, status, issues, details });
  }

  private networkError(thrown: unknown): CliError {
    const cause = (thrown as { cause?: { code?: string; message?: string } } | undefined)?.cause;
    const code = cause?.code ?? (thrown as { code?: string } | undefined)?.code;
    if (code && UNREACHABLE.has(code)) {
      return new CliError(
        `cannot reach Berth at ${this.settings.url} — is \`berth server\` running? (set BERTH_URL or --url)`,
        { code: 'UNREACHABLE', cause: thrown },
      );
    }
    const why = cause?.message ?? (thrown instanceof Error ? thrown.message : String(thrown));
    if (why === 'bad port') {
      return new CliError(`cannot use ${this.settings.url}: Node's fetch refuses that port (it is reserved for another protocol); run Berth on another port`, {
        code: 'NETWORK_ERROR',
        cause: thrown,
      });
    }
    return new CliError(`request to ${this.settings.url} failed: ${why}`, { code: 'NETWORK_ERROR', cause: thrown });
  }
}

/** Path segment for a name or uuid. */
export function seg(value: string): string {
  return encodeURIComponent(value);
}
