/**
 * The dashboard's only way to the server: the public API under /api/v1/, same origin. The API
 * key lives in sessionStorage (this tab's session only, never written to disk by us); without
 * one the requests go unauthenticated, which a local-only server accepts from this machine.
 */
const KEY_STORAGE = 'berth.apiKey';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function storedKey(): string | null {
  try {
    return sessionStorage.getItem(KEY_STORAGE);
  } catch {
    return null;
  }
}

export function storeKey(key: string | null): void {
  if (key === null) sessionStorage.removeItem(KEY_STORAGE);
  else sessionStorage.setItem(KEY_STORAGE, key);
}

type Listener = (error: ApiError) => void;
const unauthenticatedListeners = new Set<Listener>();

/** Called when a request is refused for the key (revoked while signed in, say). */
export function onUnauthenticated(listener: Listener): () => void {
  unauthenticatedListeners.add(listener);
  return () => unauthenticatedListeners.delete(listener);
}

/**
 * One API call. Throws ApiError with the server's own code and message (shown to the user as
 * they are), or with code NETWORK when the server cannot be reached.
 */
export async function api<T>(method: string, path: string, body?: unknown, key: string | null = storedKey()): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path.startsWith('/') ? path : `/api/v1/${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch (error) {
    throw new ApiError(0, 'NETWORK', `The Berth server did not answer (${error instanceof Error ? error.message : String(error)}). Is it running?`);
  }
  const text = await response.text();
  let parsed: unknown = undefined;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ApiError(response.status, 'NOT_JSON', `The server answered ${response.status} with something that is not JSON.`);
    }
  }
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
    const apiError = new ApiError(response.status, error?.code ?? `HTTP_${response.status}`, error?.message ?? `The server answered ${response.status}.`);
    if (response.status === 401 && key !== null && key === storedKey()) unauthenticatedListeners.forEach((l) => l(apiError));
    throw apiError;
  }
  return parsed as T;
}

/** `?a=1&b=2` from the defined values. */
export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') search.set(k, String(v));
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** Path segment, encoded (Task names may hold characters that need it). */
export function seg(value: string): string {
  return encodeURIComponent(value);
}
