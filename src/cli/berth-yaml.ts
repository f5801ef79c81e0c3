import fs from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { LineCounter, parseDocument } from 'yaml';
import { BerthConfig } from '../domain/berth-config.js';
import { formatIssues } from '../domain/common.js';
import { checkEcsTask, checkLocalTask } from '../domain/ecs-task.js';
import { AwsEcsRunEnvironmentSpec } from '../domain/run-environment.js';
import { TaskSpec } from '../domain/task.js';
import { CliError } from './errors.js';
import type { CliIssue } from './errors.js';
import { formatValue } from './output.js';
import type { Output } from './output.js';
import { readTaskDefinitionFile, resolveTaskDefinitionFile } from './task-definition-file.js';

/** One change `apply` made (or would make), as `POST /api/v1/apply` returns it. */
export interface ApplyChange {
  kind: 'run_environment' | 'task' | 'workflow' | 'notification_profile';
  name: string;
  action: 'create' | 'update' | 'unchanged';
  fields: { field: string; before: unknown; after: unknown }[];
}

export interface ApplyResult {
  dry_run: boolean;
  changes: ApplyChange[];
  /** Services of the document: deployed (or planned, with dry_run) after the rest was applied. */
  services?: ServiceApplyResult[];
}

/** What `apply` did about one Service (a Task with service: settings). */
export interface ServiceApplyResult {
  task: string;
  action: 'deploy' | 'plan' | 'skip';
  steps: { resource: string; name: string; action: 'create' | 'update' | 'unchanged' | 'delete'; detail: string }[];
  task_definition_arn: string | null;
  error: { code: string; message: string } | null;
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

function schemaIssues(document: Record<string, unknown>): CliIssue[] {
  const parsed = BerthConfig.safeParse(document);
  return parsed.success ? [] : formatIssues(parsed.error);
}

function invalidFile(file: string, issues: readonly CliIssue[]): CliError {
  return new CliError(`${file} is invalid (${issues.length} ${issues.length === 1 ? 'problem' : 'problems'}); nothing was applied`, {
    code: 'CONFIG_INVALID',
    issues: fileIssues(file, sortIssues(issues)),
  });
}

/** A berth.yaml made ready to send: task definition files read in, every local check passed. */
export interface PreparedDocument {
  /** What `POST /api/v1/apply` gets: each `task_definition_file` replaced by `task_definition`. */
  document: Record<string, unknown>;
  /** Task index → the task definition file its `task_definition` was read from. */
  sources: Map<number, string>;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Checks a berth.yaml as written (with the server's own schema), reads its task definition files
 * (relative to `baseDir`, the berth.yaml's directory) into `task_definition`, then checks each
 * Task against its Run Environment's kind when that Run Environment is in the same file (the
 * server checks the others). Every problem is reported at once, as `FILE: path: message`;
 * nothing is sent when there is one.
 */
export function prepareBerthYaml(file: string, document: Record<string, unknown>, baseDir: string): PreparedDocument {
  const issues: CliIssue[] = schemaIssues(document);
  const sources = new Map<number, string>();
  const unreadable = new Set<number>();
  const written = Array.isArray(document.tasks) ? (document.tasks as unknown[]) : [];
  const tasks = written.map((task, index) => {
    if (!isObject(task) || typeof task.task_definition_file !== 'string' || task.task_definition_file === '') return task;
    if (task.task_definition !== undefined) return task; // "not both" is a schema issue
    const read = readTaskDefinitionFile(resolveTaskDefinitionFile(baseDir, task.task_definition_file));
    if (!read.ok) {
      issues.push({ path: `tasks[${index}].task_definition_file`, message: read.message });
      unreadable.add(index);
      return task;
    }
    sources.set(index, read.file);
    // The same key order as written, with the file's contents in place of its path.
    return Object.fromEntries(
      Object.entries(task).map(([key, value]) => (key === 'task_definition_file' ? ['task_definition', read.value] : [key, value])),
    );
  });
  issues.push(...kindIssues(document, written, tasks, unreadable).map((i) => fromTaskDefinitionFile(i, sources)));
  if (issues.length > 0) throw invalidFile(file, issues);
  return { document: Array.isArray(document.tasks) ? { ...document, tasks } : document, sources };
}

/**
 * What an aws-ecs Task is checked against when its Run Environment in the file is itself invalid
 * (reported separately). The Task rules only read the platform version: here the latest.
 */
function fallbackEcsEnvironment(): AwsEcsRunEnvironmentSpec {
  return AwsEcsRunEnvironmentSpec.parse({
    name: 'fallback',
    kind: 'aws-ecs',
    region: 'us-east-1',
    cluster: 'fallback',
    subnets: ['subnet-00000000'],
    security_groups: ['sg-00000000'],
    execution_role_arn: 'arn:aws:iam::000000000000:role/fallback',
  });
}

/** The rules of the domain that need a Task's Run Environment, for those defined in the same file. */
function kindIssues(document: Record<string, unknown>, written: unknown[], tasks: unknown[], unreadable: Set<number>): CliIssue[] {
  const envs = new Map<string, Record<string, unknown>>();
  for (const env of Array.isArray(document.run_environments) ? (document.run_environments as unknown[]) : []) {
    if (isObject(env) && typeof env.name === 'string' && !envs.has(env.name)) envs.set(env.name, env);
  }
  const issues: CliIssue[] = [];
  tasks.forEach((task, index) => {
    if (!isObject(task) || typeof task.run_environment !== 'string' || unreadable.has(index)) return;
    const env = envs.get(task.run_environment);
    if (env?.kind === 'local') {
      // As written: a task_definition_file in a local Task is reported under that name.
      const parsed = TaskSpec.safeParse(written[index]);
      if (parsed.success) issues.push(...checkLocalTask(parsed.data, ['tasks', index]));
    } else if (env?.kind === 'aws-ecs') {
      const parsed = TaskSpec.safeParse(task);
      if (!parsed.success) return; // its schema issues are reported already
      const spec = AwsEcsRunEnvironmentSpec.safeParse(env);
      issues.push(...checkEcsTask(parsed.data, spec.success ? spec.data : fallbackEcsEnvironment(), ['tasks', index]));
    }
  });
  return issues;
}

/**
 * An issue about a `task_definition` that came from a file, said of the file:
 * `tasks[0].task_definition.containerDefinitions[0].image` becomes
 * `tasks[0].task_definition_file` with `FILE: containerDefinitions[0].image: …`.
 */
export function fromTaskDefinitionFile(issue: CliIssue, sources: ReadonlyMap<number, string>): CliIssue {
  const match = /^tasks\[(\d+)\]\.task_definition(?=$|[.[])(.*)$/.exec(issue.path);
  const source = match ? sources.get(Number(match[1])) : undefined;
  if (!match || source === undefined) return issue;
  const inner = match[2]!.replace(/^\./, '');
  return { path: `tasks[${match[1]}].task_definition_file`, message: `${source}: ${inner ? `${inner}: ` : ''}${issue.message}` };
}

/** Issues in file order: run_environments, tasks, workflows, then by index (stable otherwise). */
function sortIssues(issues: readonly CliIssue[]): CliIssue[] {
  const key = (path: string): [number, number] => {
    const m = /^(run_environments|tasks|workflows)\[(\d+)\]/.exec(path);
    if (!m) return [0, 0];
    return [m[1] === 'run_environments' ? 1 : m[1] === 'tasks' ? 2 : 3, Number(m[2])];
  };
  return issues
    .map((issue, order) => ({ issue, order, key: key(issue.path) }))
    .sort((a, b) => a.key[0] - b.key[0] || a.key[1] - b.key[1] || a.order - b.order)
    .map((x) => x.issue);
}

const SYMBOL = { create: '+', update: '~', unchanged: '=' } as const;
const COLOUR = { create: 'green', update: 'yellow', unchanged: 'dim' } as const;

/** `+ task hello (create)`, `~ task nightly (update)` with `field: before → after` lines, … */
export function printChanges(out: Output, result: ApplyResult): void {
  for (const change of result.changes) {
    out.line(out.paint(COLOUR[change.action], `${SYMBOL[change.action]} ${change.kind} ${change.name} (${change.action})`));
    if (change.action === 'update') {
      for (const f of change.fields) out.line(`    ${f.field}: ${formatChange(f.before, f.after)}`);
    }
  }
  out.line(summary(result));
}

/**
 * `before → after`; for large objects (a task definition) only which of their keys changed, so
 * one line stays readable.
 */
export function formatChange(before: unknown, after: unknown): string {
  const [b, a] = [formatValue(before), formatValue(after)];
  if (!isObject(before) || !isObject(after) || b.length + a.length <= 120) return `${b} → ${a}`;
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  const changed = keys.filter((k) => !isDeepStrictEqual(before[k], after[k]));
  return `changed ${changed.join(', ')} (see --json for the values)`;
}

export function summary(result: ApplyResult): string {
  const count = (action: ApplyChange['action']) => result.changes.filter((c) => c.action === action).length;
  const [created, updated, unchanged] = [count('create'), count('update'), count('unchanged')];
  if (result.dry_run) {
    return `Dry run: would create ${created}, would update ${updated}, ${unchanged} unchanged; nothing was written.`;
  }
  return `${created} created, ${updated} updated, ${unchanged} unchanged`;
}
