/**
 * Resolves secrets and configuration for the wrapped command's environment from the places
 * `secret-location.ts` describes. Values go into the child's environment only: nothing here
 * logs a value, and error messages name the variable and the location, never what was read.
 */
import fs from 'node:fs/promises';
import type * as LazyDeps from './lazy-deps.js';
import {
  arnRegion,
  describeLocation,
  isEnvName,
  parseDocument,
  parseS3Address,
  parseSecretsManagerAddress,
  selectPath,
  toEnvValue,
} from './secret-location.js';
import type { Format, SecretLocation } from './secret-location.js';

/** One variable to set in the child's environment from a location. */
export interface SecretSpec {
  /** The variable the child sees. */
  name: string;
  location: SecretLocation;
  /** Where this was configured, for messages: `--secret DB=…`, `BERTH_WRAP_SECRET_DB`, … */
  source: string;
}

/** A document whose keys all become variables (dotenv or a JSON/YAML object). */
export interface EnvFromSpec {
  location: SecretLocation;
  source: string;
}

export interface AwsSettings {
  /** Used when the location is not an ARN with a region. */
  region: string | null;
  /** e.g. a moto server in tests; null = AWS's own endpoints. */
  endpoint: string | null;
}

export interface ResolveOptions {
  /** The wrapper's own environment (for ENV: locations and AWS_REGION). */
  env: Readonly<Record<string, string | undefined>>;
  aws: AwsSettings;
  /** Loads the AWS SDK and yaml; replaced in unit tests. */
  loadDeps?: () => Promise<typeof LazyDeps>;
}

/** A secret that could not be resolved; the message names the variable, never a value. */
export class SecretResolutionError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
    this.name = 'SecretResolutionError';
  }
}

const loadLazyDeps = () => import('./lazy-deps.js');

/**
 * Resolves every `--env-from` document (in order) and then every secret (which win over the
 * documents), fetching each distinct place once. Throws `SecretResolutionError` for the first
 * failure. Returns only strings.
 */
export async function resolveSecrets(
  secrets: readonly SecretSpec[],
  envFrom: readonly EnvFromSpec[],
  options: ResolveOptions,
): Promise<Record<string, string>> {
  const fetcher = new Fetcher(options);
  try {
    const documents = await Promise.all(envFrom.map((spec) => resolveEnvFrom(spec, fetcher)));
    const values = await Promise.all(secrets.map((spec) => resolveOne(spec, fetcher)));
    const out: Record<string, string> = {};
    for (const document of documents) Object.assign(out, document);
    secrets.forEach((spec, i) => (out[spec.name] = values[i]!));
    return out;
  } finally {
    fetcher.close();
  }
}

async function resolveOne(spec: SecretSpec, fetcher: Fetcher): Promise<string> {
  const fail = (why: string) =>
    new SecretResolutionError(spec.name, `cannot resolve ${spec.name} (from ${spec.source} = ${describeLocation(spec.location)}): ${why}`);
  let location = spec.location;
  if (location.provider === 'AWS_SM' && !location.path) {
    // ECS's own form names a JSON key inside the ARN: honour it as a path.
    const { jsonKey } = parseSecretsManagerAddress(location.address);
    if (jsonKey) location = { ...location, format: 'json', path: [jsonKey] };
  }
  const raw = await fetcher.fetch(location).catch((error: unknown) => {
    throw fail(errorText(error));
  });
  if (location.format === 'text') {
    // Files nearly always end with a newline that is not part of the secret.
    return location.provider === 'FILE' ? raw.replace(/\r?\n$/, '') : raw;
  }
  const document = parseDocument(raw, location.format, location.format === 'yaml' ? await fetcher.yaml() : undefined);
  if (!document.ok) throw fail(document.message);
  let value = document.value;
  if (location.path) {
    const selected = selectPath(value, location.path);
    if (!selected.found) throw fail(`nothing at ${selected.missing} in the ${location.format} document`);
    value = selected.value;
  }
  const text = toEnvValue(value);
  if (!text.ok) throw fail(text.message);
  return text.value;
}

async function resolveEnvFrom(spec: EnvFromSpec, fetcher: Fetcher): Promise<Record<string, string>> {
  const fail = (why: string) => new SecretResolutionError(spec.source, `cannot load ${spec.source} = ${describeLocation(spec.location)}: ${why}`);
  const raw = await fetcher.fetch(spec.location).catch((error: unknown) => {
    throw fail(errorText(error));
  });
  const format = spec.location.format !== 'text' ? spec.location.format : documentFormat(spec.location.address, raw);
  const document = parseDocument(raw, format, format === 'yaml' ? await fetcher.yaml() : undefined);
  if (!document.ok) throw fail(document.message);
  let value = document.value;
  if (spec.location.path) {
    const selected = selectPath(value, spec.location.path);
    if (!selected.found) throw fail(`nothing at ${selected.missing} in the ${format} document`);
    value = selected.value;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw fail(`the ${format} document is not an object of NAME: value pairs`);
  const out: Record<string, string> = {};
  for (const [name, entry] of Object.entries(value)) {
    if (!isEnvName(name)) throw fail(`"${name}" is not a valid environment variable name`);
    const text = toEnvValue(entry);
    if (!text.ok) throw fail(`${name}: ${text.message}`);
    out[name] = text.value;
  }
  return out;
}

/** The format of a whole document named without one: by its extension, else JSON if it looks like it, else dotenv. */
function documentFormat(address: string, raw: string): Exclude<Format, 'text'> {
  if (/\.json$/i.test(address) || /^\s*[{[]/.test(raw)) return 'json';
  if (/\.ya?ml$/i.test(address)) return 'yaml';
  return 'dotenv';
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('E')) return `${code}: ${error.message}`;
    return error.name && error.name !== 'Error' ? `${error.name}: ${error.message}` : error.message;
  }
  return String(error);
}

type Client = { send(command: unknown): Promise<unknown>; destroy(): void };

/** Fetches raw text from providers, each distinct place once; owns the AWS clients it creates. */
class Fetcher {
  private readonly cache = new Map<string, Promise<string>>();
  private readonly clients = new Map<string, Client>();
  private deps: Promise<typeof LazyDeps> | null = null;

  constructor(private readonly options: ResolveOptions) {}

  fetch(location: SecretLocation): Promise<string> {
    const key = `${location.provider}\0${location.address}`;
    let pending = this.cache.get(key);
    if (!pending) {
      pending = this.read(location);
      this.cache.set(key, pending);
    }
    return pending;
  }

  async yaml(): Promise<(text: string) => unknown> {
    return (await this.loadDeps()).parseYaml;
  }

  close(): void {
    for (const client of this.clients.values()) client.destroy();
    this.clients.clear();
  }

  private loadDeps(): Promise<typeof LazyDeps> {
    this.deps ??= (this.options.loadDeps ?? loadLazyDeps)();
    return this.deps;
  }

  private async read(location: SecretLocation): Promise<string> {
    const { address } = location;
    switch (location.provider) {
      case 'PLAIN':
        return address;
      case 'ENV': {
        const value = this.options.env[address];
        if (value === undefined) throw new Error(`the environment variable ${address} is not set`);
        return value;
      }
      case 'FILE':
        return fs.readFile(address, 'utf8');
      case 'AWS_SM': {
        const deps = await this.loadDeps();
        const sm = parseSecretsManagerAddress(address);
        const client = this.client('secretsmanager', sm.region, (config) => new deps.SecretsManagerClient(config));
        const out = (await client.send(
          new deps.GetSecretValueCommand({
            SecretId: sm.secretId,
            ...(sm.versionStage ? { VersionStage: sm.versionStage } : {}),
            ...(sm.versionId ? { VersionId: sm.versionId } : {}),
          }),
        )) as { SecretString?: string; SecretBinary?: Uint8Array };
        if (typeof out.SecretString === 'string') return out.SecretString;
        if (out.SecretBinary) return Buffer.from(out.SecretBinary).toString('utf8');
        throw new Error('the secret has no value');
      }
      case 'AWS_SSM': {
        const deps = await this.loadDeps();
        const client = this.client('ssm', arnRegion(address), (config) => new deps.SSMClient(config));
        const out = (await client.send(new deps.GetParameterCommand({ Name: address, WithDecryption: true }))) as {
          Parameter?: { Value?: string };
        };
        const value = out.Parameter?.Value;
        if (typeof value !== 'string') throw new Error('the parameter has no value');
        return value;
      }
      case 'AWS_S3': {
        const deps = await this.loadDeps();
        const { bucket, key } = parseS3Address(address)!;
        const client = this.client('s3', null, (config) => new deps.S3Client({ ...config, forcePathStyle: config.endpoint !== undefined }));
        const out = (await client.send(new deps.GetObjectCommand({ Bucket: bucket, Key: key }))) as {
          Body?: { transformToString(encoding?: string): Promise<string> };
        };
        if (!out.Body) throw new Error('the object has no body');
        return out.Body.transformToString('utf8');
      }
    }
  }

  private client<C extends Client>(
    service: string,
    arnRegionValue: string | null,
    create: (config: { region: string; endpoint?: string }) => C,
  ): C {
    const { env, aws } = this.options;
    const region = arnRegionValue ?? aws.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    if (!region) {
      throw new Error('no AWS region: use a full ARN, or set --aws-region, BERTH_WRAP_AWS_REGION or AWS_REGION');
    }
    const key = `${service}\0${region}`;
    let client = this.clients.get(key);
    if (!client) {
      client = quietly(() => create({ region, ...(aws.endpoint ? { endpoint: aws.endpoint } : {}) }));
      this.clients.set(key, client);
    }
    return client as C;
  }
}

const SDK_NODE_WARNING = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

/**
 * Creates an SDK client without its multi-line warning about future Node.js versions: it would
 * land in the middle of the command's stderr on every run. The variable is restored at once, so
 * the command's environment is unchanged.
 */
function quietly<T>(create: () => T): T {
  const before = process.env[SDK_NODE_WARNING];
  process.env[SDK_NODE_WARNING] = 'true';
  try {
    return create();
  } finally {
    if (before === undefined) delete process.env[SDK_NODE_WARNING];
    else process.env[SDK_NODE_WARNING] = before;
  }
}
