import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { ApiClient } from './client.js';
import { Output } from './output.js';
import { resolveSettings } from './settings.js';
import type { Settings } from './settings.js';

/** A page of a list, as every list endpoint returns it. */
export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

/** Flags every API command has. */
export interface CommonFlags {
  json?: boolean;
  url?: string;
}

/** Adds `--json` and `--url` to a command. */
export function withCommonOptions(command: Command, options: { url?: boolean } = {}): Command {
  command.option('--json', "print the API's JSON instead of human-readable output");
  if (options.url !== false) {
    command.option('--url <url>', 'Berth server URL (default: $BERTH_URL, else the config file, else http://127.0.0.1:7878)');
  }
  return command;
}

export interface CommandContext {
  client: ApiClient;
  out: Output;
  settings: Settings;
  env: NodeJS.ProcessEnv;
}

/** The client and output of one command run, from its flags and the environment. */
export function contextFor(flags: CommonFlags, env: NodeJS.ProcessEnv = process.env): CommandContext {
  const settings = resolveSettings({ url: flags.url }, env);
  return { client: new ApiClient(settings), out: new Output(flags.json === true, process.stdout, process.stderr, env), settings, env };
}

/** A commander argument parser for a whole number in a range. */
export function intArg(min: number, max: number): (value: string) => number {
  return (value: string) => {
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`must be a whole number, got "${value}".`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`must be between ${min} and ${max}, got ${n}.`);
    return n;
  };
}

/** Adds `--limit` and `--offset` (paging of list commands). */
export function withPaging(command: Command): Command {
  return command
    .option('--limit <n>', 'how many to show (1–1000)', intArg(1, 1000), 50)
    .option('--offset <n>', 'how many to skip (for the next page)', intArg(0, Number.MAX_SAFE_INTEGER), 0);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A commander argument parser for an execution uuid. */
export function uuidArg(value: string): string {
  const trimmed = value.trim();
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(trimmed)) {
    throw new InvalidArgumentError(`must be an execution uuid like 0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f (see berth executions ls).`);
  }
  return trimmed.toLowerCase();
}
