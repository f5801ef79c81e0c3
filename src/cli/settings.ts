import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { formatIssues } from '../domain/common.js';
import { CliError, UsageError } from './errors.js';

/** Where the CLI finds the server when nothing says otherwise. */
export const DEFAULT_URL = 'http://127.0.0.1:7878';

/** Where the URL came from, for messages. */
export type UrlSource = 'flag' | 'env' | 'config' | 'default';

export interface Settings {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:7878`. */
  url: string;
  urlSource: UrlSource;
  /** The API key, or null. Never printed, never taken from the command line. */
  apiKey: string | null;
  /** The config file that was read, if any. */
  configFile: string | null;
}

const HttpUrl = z
  .string()
  .trim()
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.host !== '';
    } catch {
      return false;
    }
  }, { message: 'must be an http:// or https:// URL, like http://127.0.0.1:7878' });

/** The CLI's config file: `url:` and `api_key:`. */
export const CliConfigFile = z.strictObject({
  url: HttpUrl.optional(),
  api_key: z
    .string({ message: 'must be a string (the API key)' })
    .trim()
    .min(1, { message: 'must not be empty' })
    .optional(),
});
export type CliConfigFile = z.infer<typeof CliConfigFile>;

/** `$BERTH_CONFIG`, else `$XDG_CONFIG_HOME/berth/config.yaml`, else `~/.config/berth/config.yaml`. */
export function configFilePath(env: NodeJS.ProcessEnv): { file: string; explicit: boolean } {
  if (env.BERTH_CONFIG) return { file: path.resolve(env.BERTH_CONFIG), explicit: true };
  const base = env.XDG_CONFIG_HOME ? env.XDG_CONFIG_HOME : path.join(os.homedir(), '.config');
  return { file: path.join(base, 'berth', 'config.yaml'), explicit: false };
}

/** Reads and validates the config file; null when it does not exist (and was not asked for). */
export function readConfigFile(env: NodeJS.ProcessEnv): { file: string; config: CliConfigFile } | null {
  const { file, explicit } = configFilePath(env);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !explicit) return null;
    const why = code === 'ENOENT' ? 'it does not exist' : (error as Error).message;
    throw new CliError(`cannot read the config file ${file}${explicit ? ' (BERTH_CONFIG)' : ''}: ${why}`);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, lineCounter });
  const syntax = doc.errors[0];
  if (syntax) {
    const pos = lineCounter.linePos(syntax.pos[0]);
    throw new CliError(`${file}:${pos.line}:${pos.col}: ${firstLine(syntax.message)}`);
  }
  const raw: unknown = doc.toJS() ?? {};
  const parsed = CliConfigFile.safeParse(raw);
  if (!parsed.success) {
    const issues = formatIssues(parsed.error);
    throw new CliError(`invalid config file ${file}`, {
      issues: issues.map((i) => ({ path: `${file}: ${i.path === '(root)' ? '(the whole file)' : i.path}`, message: i.message })),
    });
  }
  return { file, config: parsed.data };
}

export function normaliseUrl(value: string, where: string): string {
  const parsed = HttpUrl.safeParse(value);
  if (!parsed.success) {
    const message = `${where}: ${parsed.error.issues[0]?.message ?? 'invalid URL'} (got "${value}")`;
    throw where === '--url' ? new UsageError(message) : new CliError(message);
  }
  return parsed.data.replace(/\/+$/, '');
}

/**
 * Resolves where the server is and which key to send.
 * URL: `--url` > `BERTH_URL` > config file > http://127.0.0.1:7878.
 * Key: `BERTH_API_KEY` > config file. The config file is read only when it is needed.
 */
export function resolveSettings(flags: { url?: string | undefined }, env: NodeJS.ProcessEnv): Settings {
  let url: string | null = null;
  let urlSource: UrlSource = 'default';
  if (flags.url !== undefined) {
    url = normaliseUrl(flags.url, '--url');
    urlSource = 'flag';
  } else if (env.BERTH_URL) {
    url = normaliseUrl(env.BERTH_URL, 'BERTH_URL');
    urlSource = 'env';
  }
  let apiKey = env.BERTH_API_KEY ? env.BERTH_API_KEY.trim() : null;
  let configFile: string | null = null;
  if (url === null || apiKey === null) {
    const loaded = readConfigFile(env);
    if (loaded) {
      configFile = loaded.file;
      if (url === null && loaded.config.url !== undefined) {
        url = loaded.config.url.replace(/\/+$/, '');
        urlSource = 'config';
      }
      if (apiKey === null && loaded.config.api_key !== undefined) apiKey = loaded.config.api_key;
    }
  }
  return { url: url ?? DEFAULT_URL, urlSource, apiKey: apiKey || null, configFile };
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
