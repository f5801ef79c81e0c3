/** Unit tests of the CLI's aws-ecs pieces: JSON errors, task definition files, ECS output. */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatChange, fromTaskDefinitionFile } from '../../src/cli/berth-yaml.js';
import { ecsExecutorFields, printExecution } from '../../src/cli/commands/executions.js';
import { shortImage } from '../../src/cli/commands/tasks.js';
import { printPruneResult } from '../../src/cli/commands/tasks-prune-revisions.js';
import { Output } from '../../src/cli/output.js';
import {
  baseDirectoryOf,
  findJsonError,
  lineAndColumn,
  readTaskDefinitionFile,
  resolveTaskDefinitionFile,
} from '../../src/cli/task-definition-file.js';
import { tempDir } from '../support/temp.js';
import { writeFile } from './cli.js';

const dir = tempDir('berth-cli-ecs-unit-');
afterAll(() => dir.cleanup());

/** An Output that collects stdout as text. */
function capture(): { out: Output; text: () => string } {
  let text = '';
  const stream = { write: (t: string) => (text += t) };
  return { out: new Output(false, stream, stream, {}), text: () => text };
}

describe('task definition files', () => {
  it('resolves paths against the berth.yaml directory, the working directory for "-", absolute as given', () => {
    expect(baseDirectoryOf('deploy/berth.yaml', '/work')).toBe('/work/deploy');
    expect(baseDirectoryOf('/etc/berth/berth.yaml', '/work')).toBe('/etc/berth');
    expect(baseDirectoryOf('-', '/work')).toBe('/work');
    expect(resolveTaskDefinitionFile('/work/deploy', 'defs/etl.json')).toBe('/work/deploy/defs/etl.json');
    expect(resolveTaskDefinitionFile('/work/deploy', '../shared/etl.json')).toBe('/work/shared/etl.json');
    expect(resolveTaskDefinitionFile('/work/deploy', '/opt/td//etl.json')).toBe('/opt/td/etl.json');
  });

  it('finds where a text stops being JSON, with line and column', () => {
    const at = (text: string) => {
      const found = findJsonError(text);
      return found && { ...lineAndColumn(text, found.offset), message: found.message };
    };
    expect(at('{"a": 1}')).toBeNull();
    expect(at('[1, "x\\n\\u00e9", {"b": [true, false, null, -1.5e3]}]')).toBeNull();
    expect(at('{\n  "a": 1,\n}')).toEqual({ line: 3, col: 1, message: "expected a property name in double quotes, found '}' (JSON allows no trailing comma)" });
    expect(at('{\n  "a": }')).toEqual({ line: 2, col: 8, message: "expected a value, found '}'" });
    expect(at('[1,]')).toMatchObject({ col: 4, message: "expected a value, found ']' (JSON allows no trailing comma)" });
    expect(at("{'a': 1}")).toMatchObject({ col: 2, message: `expected a property name in double quotes, found "'" (JSON strings use double quotes)` });
    expect(at('{"a": "open')).toMatchObject({ col: 7, message: 'this string is never closed' });
    expect(at('{"a": 1} x')).toMatchObject({ col: 10, message: "unexpected 'x' after the JSON value" });
    expect(at('')).toEqual({ line: 1, col: 1, message: 'expected a value, found the end of the file' });
    expect(at('{"a": 01}')).toMatchObject({ col: 8, message: "expected ',' or '}' after a property value, found '1'" });
  });

  it('reads a file: a JSON object, else an error that names the file', () => {
    const good = writeFile(dir.dir, 'good.json', '\uFEFF{"family": "x"}');
    expect(readTaskDefinitionFile(good)).toEqual({ ok: true, file: good, value: { family: 'x' } });
    const list = writeFile(dir.dir, 'list.json', '[]');
    expect(readTaskDefinitionFile(list)).toMatchObject({ ok: false, message: `${list}: must hold a JSON object (a task definition as RegisterTaskDefinition takes it)` });
    const described = writeFile(dir.dir, 'described.json', '{"taskDefinition": {"containerDefinitions": []}}');
    expect(readTaskDefinitionFile(described)).toMatchObject({ ok: false, message: expect.stringContaining('aws ecs describe-task-definition') });
    expect(readTaskDefinitionFile(dir.dir)).toMatchObject({ ok: false, message: `cannot read ${dir.dir}: it is a directory` });
    const missing = path.join(dir.dir, 'missing.json');
    expect(readTaskDefinitionFile(missing)).toMatchObject({ ok: false, message: `cannot read ${missing}: no such file` });
  });

  it("says the server's issues about a task definition of the file they came from", () => {
    const sources = new Map([[1, '/d/etl.json']]);
    expect(fromTaskDefinitionFile({ path: 'tasks[1].task_definition.containerDefinitions[0].image', message: 'needs an image' }, sources)).toEqual({
      path: 'tasks[1].task_definition_file',
      message: '/d/etl.json: containerDefinitions[0].image: needs an image',
    });
    expect(fromTaskDefinitionFile({ path: 'tasks[1].task_definition', message: 'not for local' }, sources)).toEqual({
      path: 'tasks[1].task_definition_file',
      message: '/d/etl.json: not for local',
    });
    // Other tasks, and task_definition written inline, are left alone.
    const inline = { path: 'tasks[0].task_definition.networkMode', message: 'x' };
    expect(fromTaskDefinitionFile(inline, sources)).toBe(inline);
    const other = { path: 'tasks[1].task_definition_prefix', message: 'x' };
    expect(fromTaskDefinitionFile(other, sources)).toBe(other);
  });

  it('shows a change of a large object as the keys that changed', () => {
    expect(formatChange(60, 120)).toBe('60 → 120');
    expect(formatChange({ a: 1 }, { a: 2 })).toBe('{"a":1} → {"a":2}');
    const big = { family: 'x'.repeat(80), cpu: '256', containerDefinitions: [{ name: 'app' }] };
    expect(formatChange(big, { ...big, cpu: '512', memory: '1024' })).toBe('changed cpu, memory (see --json for the values)');
    expect(formatChange(null, big)).toMatch(/^\(none\) → \{"family"/);
  });
});

describe('ECS output', () => {
  it('shortens image names from a "/" on', () => {
    expect(shortImage('busybox:1.36', 40)).toBe('busybox:1.36');
    expect(shortImage('123456789012.dkr.ecr.us-east-1.amazonaws.com/team/etl:1.4', 40)).toBe('…/team/etl:1.4');
    expect(shortImage(`registry.example.com/${'x'.repeat(50)}`, 20)).toBe(`…${'x'.repeat(19)}`);
  });

  it('prints prune results: removed, kept, a summary; "would remove" in a dry run', () => {
    const arn = (n: number) => `arn:aws:ecs:us-east-1:123456789012:task-definition/berth-etl:${n}`;
    const real = capture();
    printPruneResult(real.out, 'etl', { dry_run: false, kept: [arn(5), arn(4)], removed: [arn(2), arn(1)] });
    expect(real.text()).toBe(`- removed ${arn(2)}\n- removed ${arn(1)}\n= kept ${arn(5)}\n= kept ${arn(4)}\nRemoved 2 revisions of task etl; kept 2.\n`);
    const dry = capture();
    printPruneResult(dry.out, 'etl', { dry_run: true, kept: [arn(5)], removed: [arn(1)] });
    expect(dry.text()).toBe(`- would remove ${arn(1)}\n= kept ${arn(5)}\nDry run: would remove 1 revision of task etl and keep 1; nothing was changed.\n`);
    const none = capture();
    printPruneResult(none.out, 'etl', { dry_run: false, kept: [], removed: [] });
    expect(none.text()).toBe('Task etl has no registered task definition revisions; nothing to prune.\n');
  });

  const execution = (executor: { kind: string; details: Record<string, unknown> } | null) =>
    ({
      uuid: '0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f',
      task: { uuid: 'x', name: 'etl' },
      run_environment: { uuid: 'y', name: 'prod' },
      status: 'RUNNING',
      run_reason: 'EXPLICIT_START',
      stop_reason: null,
      failure: null,
      created_at: '2024-05-01T12:00:00.000Z',
      started_at: '2024-05-01T12:00:01.000Z',
      finished_at: null,
      stop_requested_at: null,
      launch_after: null,
      attempt: 1,
      max_attempts: 1,
      failed_attempts: 0,
      timed_out_attempts: 0,
      attempts: [],
      exit_code: null,
      environment_overrides: {},
      input_value: null,
      output_value: null,
      success_count: null,
      error_count: null,
      skipped_count: null,
      expected_count: null,
      last_status_message: null,
      last_heartbeat_at: null,
      executor,
    }) as unknown as Parameters<typeof printExecution>[1];

  it('executions show labels what the aws-ecs executor reports', () => {
    const details = {
      task_arn: 'arn:aws:ecs:us-east-1:123456789012:task/berth/0123456789abcdef',
      cluster: 'berth',
      region: 'us-east-1',
      task_definition_arn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/berth-etl:3',
      console_url: 'https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/berth/tasks/0123456789abcdef/configuration',
      log_group: '/berth/prod',
      log_stream: 'berth/main/0123456789abcdef',
    };
    expect(ecsExecutorFields(details).map(([label]) => label)).toEqual([
      'Executor',
      'ECS task',
      'Cluster',
      'Region',
      'Task definition',
      'Log group',
      'Log stream',
      'AWS console',
    ]);
    const { out, text } = capture();
    printExecution(out, execution({ kind: 'aws-ecs', details }));
    expect(text()).toMatch(/^Executor:\s+aws-ecs$/m);
    expect(text()).toMatch(/^ECS task:\s+arn:aws:ecs:us-east-1:123456789012:task\/berth\/0123456789abcdef$/m);
    expect(text()).toMatch(/^Task definition:\s+arn:aws:ecs:us-east-1:123456789012:task-definition\/berth-etl:3$/m);
    expect(text()).toMatch(/^Log stream:\s+berth\/main\/0123456789abcdef$/m);
    expect(text()).toMatch(/^AWS console:\s+https:\/\/us-east-1\.console\.aws\.amazon\.com\/ecs\/v2\/clusters\/berth\/tasks\/0123456789abcdef\/configuration$/m);
    // An unreadable handle still says so.
    expect(ecsExecutorFields({ description: 'not an aws-ecs handle' })).toEqual([
      ['Executor', 'aws-ecs'],
      ['description', 'not an aws-ecs handle'],
    ]);
  });

  it('executions show of a local execution is unchanged', () => {
    const { out, text } = capture();
    printExecution(out, execution({ kind: 'local', details: { pid: 12, log_directory: '/data/x' } }));
    expect(text()).toMatch(/^Executor:\s+local\n\s+pid: 12\n\s+log_directory: \/data\/x$/m);
    const none = capture();
    printExecution(none.out, execution(null));
    expect(none.text()).toMatch(/^Executor:\s+- \(not launched\)$/m);
  });
});
