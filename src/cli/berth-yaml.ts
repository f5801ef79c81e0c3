import fs from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { BerthConfig } from '../domain/berth-config.js';
import { formatIssues } from '../domain/common.js';
import { CliError } from './errors.js';
import type { CliIssue } from './errors.js';
import { formatValue } from './output.js';
import type { Output } from './output.js';

/** One change `apply` made (or would make), as `POST /api/v1/apply` returns it. */
export interface ApplyChange {
  kind: 'run_environment' | 'task';
  name: string;
  action: 'create' | 'update' | 'unchanged';
  fields: { field: string; before: unknown; after: unknown }[];
}

export interface ApplyResult {
  dry_run: boolean;
  changes: ApplyChange[];
}

/** Issues of a file as lines `FILE: path: message`. */
export function fileIssues(file: string, issues: readonly CliIssue[]): CliIssue[] {
  return issues.map((i) => ({ path: `${file}: ${i.path}`, message: i.message }));
}

/**
 * Reads a berth.yaml file: a YAML syntax error is `FILE:line:col: message`; a document that is
 * not a mapping is an error. Returns the document as written (defaults are the server's job).
 */
export function readBerthYaml(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = file === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => {
      const pos = lineCounter.linePos(e.pos[0]);
      return `${file}:${pos.line}:${pos.col}: ${e.message.split('\n')[0]}`;
    });
    throw new CliError(`${lines[0]}${lines.length > 1 ? `\n${lines.slice(1).join('\n')}` : ''}`, { code: 'YAML_SYNTAX' });
  }
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new CliError(`${file}: the document must be a mapping with run_environments: and tasks:`, { code: 'CONFIG_INVALID' });
  }
  return value as Record<string, unknown>;
}

/** Validates locally with the server's own schema; throws CONFIG_INVALID with `FILE: path` issues. */
export function validateBerthYaml(file: string, document: Record<string, unknown>): void {
  const parsed = BerthConfig.safeParse(document);
  if (parsed.success) return;
  const issues = fileIssues(file, formatIssues(parsed.error));
  throw new CliError(`${file} is invalid (${issues.length} ${issues.length === 1 ? 'problem' : 'problems'}); nothing was applied`, {
    code: 'CONFIG_INVALID',
    issues,
  });
}

const SYMBOL = { create: '+', update: '~', unchanged: '=' } as const;
const COLOUR = { create: 'green', update: 'yellow', unchanged: 'dim' } as const;

/** `+ task hello (create)`, `~ task nightly (update)` with `field: before → after` lines, … */
export function printChanges(out: Output, result: ApplyResult): void {
  for (const change of result.changes) {
    out.line(out.paint(COLOUR[change.action], `${SYMBOL[change.action]} ${change.kind} ${change.name} (${change.action})`));
    if (change.action === 'update') {
      for (const f of change.fields) out.line(`    ${f.field}: ${formatValue(f.before)} → ${formatValue(f.after)}`);
    }
  }
  out.line(summary(result));
}

export function summary(result: ApplyResult): string {
  const count = (action: ApplyChange['action']) => result.changes.filter((c) => c.action === action).length;
  const [created, updated, unchanged] = [count('create'), count('update'), count('unchanged')];
  if (result.dry_run) {
    return `Dry run: would create ${created}, would update ${updated}, ${unchanged} unchanged; nothing was written.`;
  }
  return `${created} created, ${updated} updated, ${unchanged} unchanged`;
}
