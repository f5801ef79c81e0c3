/**
 * Where a secret (or any configuration value) for the wrapped command lives, and how to pick the
 * value out of what is found there. Pure: no I/O; `secrets.ts` fetches.
 *
 * Syntax (the same as proc_wrapper's, so its images keep working):
 *
 *     [PROVIDER:]address[!format][|JP:path]
 *
 * - PROVIDER: `PLAIN` (the address is the value), `ENV` (another environment variable), `FILE`
 *   (a file's contents), `AWS_SM` (Secrets Manager: ARN or name), `AWS_SSM` (SSM parameter: ARN
 *   or name), `AWS_S3` (an object: `arn:aws:s3:::bucket/key` or `s3://bucket/key`). Without a
 *   provider, AWS ARNs and `s3://` URLs pick their own; anything else is PLAIN.
 * - format: `text` (default), `json`, `dotenv` or `yaml`.
 * - path: which value to take from a json/yaml/dotenv document: `$.db.password`, `db.password`,
 *   `hosts[0]`, `$['key.with.dots']`. A path without a format means json (dotenv/yaml for
 *   `.env`/`.yaml` addresses).
 */

export const PROVIDERS = ['PLAIN', 'ENV', 'FILE', 'AWS_SM', 'AWS_SSM', 'AWS_S3'] as const;
export type Provider = (typeof PROVIDERS)[number];
export const FORMATS = ['text', 'json', 'dotenv', 'yaml'] as const;
export type Format = (typeof FORMATS)[number];
export type PathPart = string | number;

export interface SecretLocation {
  provider: Provider;
  address: string;
  /** Explicit or inferred; `text` means the whole value. */
  format: Format;
  /** null: the whole document (as text, or JSON text for an object). */
  path: PathPart[] | null;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A valid environment variable name for a child process. */
export function isEnvName(name: string): boolean {
  return ENV_NAME.test(name);
}

/** Parses a location; the message of a failure never repeats a PLAIN value. */
export function parseLocation(text: string): Parsed<SecretLocation> {
  let rest = text;
  let path: PathPart[] | null = null;
  const jp = rest.lastIndexOf('|JP:');
  if (jp >= 0) {
    const parsedPath = parseJsonPath(rest.slice(jp + 4));
    if (!parsedPath.ok) return parsedPath;
    path = parsedPath.value;
    rest = rest.slice(0, jp);
  }
  let format: Format | null = null;
  const bang = /!(text|raw|json|dotenv|env|yaml|yml)$/i.exec(rest);
  if (bang) {
    const name = bang[1]!.toLowerCase();
    format = name === 'raw' ? 'text' : name === 'env' ? 'dotenv' : name === 'yml' ? 'yaml' : (name as Format);
    rest = rest.slice(0, bang.index);
  }

  let provider: Provider | null = null;
  const prefix = /^([A-Z][A-Z0-9_]*):/.exec(rest);
  if (prefix && (PROVIDERS as readonly string[]).includes(prefix[1]!)) {
    provider = prefix[1] as Provider;
    rest = rest.slice(prefix[0].length);
  } else if (prefix) {
    return { ok: false, message: `unknown provider "${prefix[1]}:"; use one of ${PROVIDERS.join(', ')}` };
  }
  const address = rest;
  provider ??= inferProvider(address);

  if (provider !== 'PLAIN' && address === '') return { ok: false, message: `"${provider}:" needs an address after the colon` };
  if (provider === 'ENV' && !isEnvName(address)) {
    return { ok: false, message: `"ENV:" must name an environment variable (letters, digits, _), got "${address}"` };
  }
  if (provider === 'AWS_S3' && !parseS3Address(address)) {
    return { ok: false, message: `"AWS_S3:" needs arn:aws:s3:::BUCKET/KEY or s3://BUCKET/KEY, got "${address}"` };
  }
  if (format === 'text' && path) return { ok: false, message: 'a |JP: path cannot be used with !text; use !json, !yaml or !dotenv' };
  format ??= path ? inferStructuredFormat(address) : 'text';
  return { ok: true, value: { provider, address, format, path } };
}

function inferProvider(address: string): Provider {
  if (/^arn:aws[a-z-]*:secretsmanager:/.test(address)) return 'AWS_SM';
  if (/^arn:aws[a-z-]*:ssm:/.test(address)) return 'AWS_SSM';
  if (/^arn:aws[a-z-]*:s3:::/.test(address) || address.startsWith('s3://')) return 'AWS_S3';
  return 'PLAIN';
}

function inferStructuredFormat(address: string): Format {
  if (/\.env$/i.test(address)) return 'dotenv';
  if (/\.ya?ml$/i.test(address)) return 'yaml';
  return 'json';
}

/** `{bucket, key}` of an S3 address, or null. */
export function parseS3Address(address: string): { bucket: string; key: string } | null {
  const m = /^(?:arn:aws[a-z-]*:s3:::|s3:\/\/)([^/]+)\/(.+)$/.exec(address);
  return m ? { bucket: m[1]!, key: m[2]! } : null;
}

/**
 * A Secrets Manager address: an ARN or a name, optionally in the ECS `valueFrom` form
 * `arn:…:secret:NAME-AbCdEf:json-key:version-stage:version-id` (as Berth's Task secrets use).
 */
export function parseSecretsManagerAddress(address: string): {
  secretId: string;
  region: string | null;
  jsonKey: string | null;
  versionStage: string | null;
  versionId: string | null;
} {
  const parts = address.split(':');
  if (parts[0] !== 'arn' || parts.length < 7) return { secretId: address, region: null, jsonKey: null, versionStage: null, versionId: null };
  const orNull = (s: string | undefined) => (s ? s : null);
  return {
    secretId: parts.slice(0, 7).join(':'),
    region: orNull(parts[3]),
    jsonKey: orNull(parts[7]),
    versionStage: orNull(parts[8]),
    versionId: orNull(parts[9]),
  };
}

/** The region in an ARN (`arn:aws:ssm:eu-west-1:…` → `eu-west-1`), or null. */
export function arnRegion(address: string): string | null {
  const parts = address.split(':');
  return parts[0] === 'arn' && parts[3] ? parts[3] : null;
}

/** A location for messages and logs: a PLAIN value is never shown. */
export function describeLocation(location: SecretLocation): string {
  const where = location.provider === 'PLAIN' ? 'PLAIN:(value not shown)' : `${location.provider}:${location.address}`;
  const format = location.format === 'text' ? '' : `!${location.format}`;
  return `${where}${format}${location.path ? `|JP:${formatPath(location.path)}` : ''}`;
}

export function formatPath(path: readonly PathPart[]): string {
  return '$' + path.map((p) => (typeof p === 'number' ? `[${p}]` : /^[A-Za-z_$][\w$-]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`)).join('');
}

/** Parses `$.a.b[0]['c.d']` (the `$` and the first dot are optional). */
export function parseJsonPath(text: string): Parsed<PathPart[]> {
  const bad = (why: string): Parsed<PathPart[]> => ({ ok: false, message: `invalid |JP: path "${text}": ${why}` });
  let i = 0;
  const parts: PathPart[] = [];
  if (text.startsWith('$')) i = 1;
  else if (text !== '' && text[0] !== '.' && text[0] !== '[') {
    // `a.b` is read as `$.a.b`
    text = '.' + text;
  }
  while (i < text.length) {
    const c = text[i]!;
    if (c === '.') {
      const m = /^[^.[\]]+/.exec(text.slice(i + 1));
      if (!m) return bad(`expected a key after "." at position ${i + 1}`);
      parts.push(m[0]);
      i += 1 + m[0].length;
    } else if (c === '[') {
      const index = /^\[(\d+)\]/.exec(text.slice(i));
      const quoted = /^\[(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\]/.exec(text.slice(i));
      if (index) {
        parts.push(Number(index[1]));
        i += index[0].length;
      } else if (quoted) {
        parts.push((quoted[1] ?? quoted[2]!).replace(/\\(.)/g, '$1'));
        i += quoted[0].length;
      } else return bad(`expected [number] or ['key'] at position ${i}`);
    } else return bad(`unexpected "${c}" at position ${i}`);
  }
  if (parts.length === 0) return bad('it selects nothing; give at least one key, like $.password');
  return { ok: true, value: parts };
}

/** Follows a path into a parsed document. */
export function selectPath(document: unknown, path: readonly PathPart[]): { found: true; value: unknown } | { found: false; missing: string } {
  let current = document;
  for (let i = 0; i < path.length; i++) {
    const part = path[i]!;
    const next =
      typeof part === 'number'
        ? Array.isArray(current)
          ? current[part]
          : undefined
        : current !== null && typeof current === 'object' && !Array.isArray(current) && Object.hasOwn(current, part)
          ? (current as Record<string, unknown>)[part]
          : undefined;
    if (next === undefined) return { found: false, missing: formatPath(path.slice(0, i + 1)) };
    current = next;
  }
  return { found: true, value: current };
}

/**
 * A value as an environment variable: strings as they are, numbers and booleans as text, objects
 * and arrays as JSON. Null has no text: the caller reports it. Never anything but a string.
 */
export function toEnvValue(value: unknown): Parsed<string> {
  if (typeof value === 'string') return { ok: true, value };
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return { ok: true, value: String(value) };
  if (value === null || value === undefined) return { ok: false, message: 'the value is null' };
  if (typeof value === 'object') return { ok: true, value: JSON.stringify(value) };
  return { ok: false, message: `a ${typeof value} cannot be an environment variable` };
}

/**
 * Parses a dotenv document: `KEY=value` lines, `export KEY=value`, `#` comments, single quotes
 * (literal), double quotes (with \n, \t, \", \\ escapes, may span lines). Errors give line numbers,
 * never contents.
 */
export function parseDotenv(text: string): Parsed<Record<string, string>> {
  const out: Record<string, string> = {};
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!m) return { ok: false, message: `dotenv line ${n + 1} is not KEY=value` };
    const key = m[1]!;
    let raw = m[2]!;
    if (raw.startsWith('"')) {
      // Gather lines until the closing, unescaped quote.
      let body = raw.slice(1);
      let end = closingQuote(body);
      while (end < 0 && n + 1 < lines.length) {
        n++;
        body += '\n' + lines[n]!;
        end = closingQuote(body);
      }
      if (end < 0) return { ok: false, message: `dotenv value of ${key} has no closing double quote` };
      out[key] = body.slice(0, end).replace(/\\([nrt"\\$])/g, (_, c: string) => ({ n: '\n', r: '\r', t: '\t' })[c] ?? c);
    } else if (raw.startsWith("'")) {
      const end = raw.indexOf("'", 1);
      if (end < 0) return { ok: false, message: `dotenv value of ${key} has no closing single quote` };
      out[key] = raw.slice(1, end);
    } else {
      const comment = raw.search(/\s#/);
      if (comment >= 0) raw = raw.slice(0, comment);
      out[key] = raw.trim();
    }
  }
  return { ok: true, value: out };
}

function closingQuote(body: string): number {
  for (let i = 0; i < body.length; i++) {
    if (body[i] === '\\') i++;
    else if (body[i] === '"') return i;
  }
  return -1;
}

/** Parses a document in a structured format; `parseYaml` is loaded only when yaml is used. */
export function parseDocument(text: string, format: Exclude<Format, 'text'>, parseYaml?: (text: string) => unknown): Parsed<unknown> {
  try {
    switch (format) {
      case 'json':
        return { ok: true, value: JSON.parse(text) as unknown };
      case 'dotenv':
        return parseDotenv(text);
      case 'yaml':
        if (!parseYaml) return { ok: false, message: 'yaml support is not loaded' };
        return { ok: true, value: parseYaml(text) };
    }
  } catch (error) {
    // JSON.parse's message quotes the text it choked on: say only which format failed.
    return { ok: false, message: `the value is not valid ${format}${error instanceof Error && format === 'yaml' ? ` (${error.name})` : ''}` };
  }
}
