/**
 * The setup wizard's state file: the answers and which steps are done, so that an interrupted
 * setup can continue and a finished one can be re-run with the same answers.
 *
 * It holds NO secrets — no AWS access key, secret key or session token, no External ID, no Berth
 * API key. The External ID lives in Berth's store (the Run Environment's `external_id`) and is
 * read back from the API on resume. Before every write the serialised state is checked against
 * the secret values the wizard knows of, and the write is refused if any of them appears.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { CliError } from '../errors.js';
import { isAnswerKey } from './answers.js';
import type { AnswerKey } from './answers.js';

export const SETUP_STEPS = ['network', 'cluster', 'run_environment', 'control_role', 'verify'] as const;
export type SetupStep = (typeof SETUP_STEPS)[number];

const StepRecord = z.object({
  /** What was done: created, updated, unchanged, reused, skipped… */
  result: z.string(),
  at: z.string(),
  stack: z.string().optional(),
  /** Stack outputs: ids and ARNs, never secrets (no template outputs a secret). */
  outputs: z.record(z.string(), z.string()).optional(),
});
export type StepRecord = z.infer<typeof StepRecord>;

export const SetupState = z.object({
  version: z.literal(1),
  run_environment: z.string(),
  /** When it was last written. */
  saved_at: z.string(),
  /** Every step ran to its end. */
  finished: z.boolean(),
  account: z.string().optional(),
  region: z.string().optional(),
  /** The Berth server the Run Environment was registered with (a URL, no key). */
  berth_url: z.string().optional(),
  answers: z.record(z.string(), z.string()),
  steps: z.partialRecord(z.enum(SETUP_STEPS), StepRecord),
});
export type SetupState = z.infer<typeof SetupState>;

/** `$XDG_CONFIG_HOME/berth/setup-aws-<name>.json`, else `~/.config/berth/setup-aws-<name>.json`. */
export function defaultStatePath(runEnvironment: string, env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CONFIG_HOME ? env.XDG_CONFIG_HOME : path.join(os.homedir(), '.config');
  return path.join(base, 'berth', `setup-aws-${runEnvironment}.json`);
}

/** Reads a state file; null when there is none. */
export function readState(file: string): SetupState | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CliError(`cannot read the setup state file ${file}: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new CliError(`the setup state file ${file} is not valid JSON; delete it (or give another --state) to start over`);
  }
  const parsed = SetupState.safeParse(raw);
  if (!parsed.success) {
    throw new CliError(`the setup state file ${file} is not one this version understands; delete it (or give another --state) to start over`);
  }
  return parsed.data;
}

/** The saved answers that are still answer keys (older files may hold others). */
export function savedAnswers(state: SetupState): Partial<Record<AnswerKey, string>> {
  const out: Partial<Record<AnswerKey, string>> = {};
  for (const [key, value] of Object.entries(state.answers)) if (isAnswerKey(key)) out[key] = value;
  return out;
}

/** Patterns of AWS access key ids (long-term AKIA…, temporary ASIA…). */
const ACCESS_KEY_ID = /\b(AKIA|ASIA)[A-Z0-9]{12,}\b/;

/**
 * Throws if `text` contains any of `secrets` or something shaped like an AWS access key id. The
 * last line of defence: the state is built from answers and stack outputs, which hold none.
 */
export function assertNoSecrets(text: string, secrets: readonly string[]): void {
  const leaked = secrets.filter((s) => s.length >= 4 && text.includes(s)).length;
  if (leaked > 0 || ACCESS_KEY_ID.test(text)) {
    throw new CliError('refusing to write the setup state file: it would contain a secret (this is a bug in Berth; please report it)');
  }
}

/** Writes the state atomically (temporary file, then rename), readable by the user only. */
export function writeState(file: string, state: SetupState, secrets: readonly string[]): void {
  const text = `${JSON.stringify(state, null, 2)}\n`;
  assertNoSecrets(text, secrets);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, text, { mode: 0o600 });
  fs.renameSync(temporary, file);
}
