/**
 * CloudFormation stacks for the setup wizard: find a stack by name, decide whether it must be
 * created, updated or left alone, and deploy it while reporting its events.
 *
 * Idempotency: a stack whose template and parameters are already what the wizard would send is
 * left alone — no UpdateStack at all, so nothing changes, not even its last-updated time — and if
 * CloudFormation still answers "No updates are to be performed", that counts as success.
 * Resume: a stack still in progress (an earlier run was interrupted while AWS kept working) is
 * waited for; a stack whose creation failed and rolled back cannot be updated, so it is deleted
 * and created again.
 */
import {
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  GetTemplateCommand,
  UpdateStackCommand,
} from '@aws-sdk/client-cloudformation';
import type { Capability, Stack, StackEvent } from '@aws-sdk/client-cloudformation';
import { CliError } from '../errors.js';
import { awsCall, awsErrorMessage } from './aws-session.js';
import type { AwsSession } from './aws-session.js';
import { TEMPLATES, templateText } from './templates.js';
import type { TemplateName } from './templates.js';

/** What the wizard wants a stack to be. */
export interface StackSpec {
  name: string;
  template: TemplateName;
  parameters: Record<string, string>;
  /** NoEcho parameters: AWS shows them as ****, so they are compared only when `secretChanged`. */
  noEcho?: readonly string[];
  /** A NoEcho value is new (e.g. a freshly generated External ID): the stack must get it. */
  secretChanged?: boolean;
  tags?: Record<string, string>;
}

export interface ExistingStack {
  id: string;
  name: string;
  status: string;
  reason: string | null;
  parameters: Record<string, string>;
  outputs: Record<string, string>;
  lastUpdated: Date | null;
}

export interface ParameterChange {
  key: string;
  before: string | null;
  after: string;
}

/** create: no stack yet; recreate: its creation failed (deleted, then created again). */
export type StackAction = 'create' | 'recreate' | 'update' | 'unchanged';

export interface StackPlan {
  spec: StackSpec;
  existing: ExistingStack | null;
  action: StackAction;
  changes: ParameterChange[];
  templateChanged: boolean;
  /** The stack is in the middle of an operation (it is waited for before anything else). */
  busy: boolean;
}

/** Past-tense results, as printed and kept in the state file. */
export type StackResult = 'created' | 'recreated' | 'updated' | 'unchanged';

export interface DeployHooks {
  /** One line per stack event, in the order they happened. */
  onEvent?(line: string): void;
  /** The current status while waiting (for a spinner). */
  onStatus?(text: string): void;
  /** Milliseconds between DescribeStacks calls while waiting. (Default: 3000) */
  pollMs?: number;
}

const FAILED_TO_CREATE = new Set(['ROLLBACK_COMPLETE', 'ROLLBACK_FAILED', 'CREATE_FAILED']);
const STABLE = new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE', 'IMPORT_COMPLETE', 'IMPORT_ROLLBACK_COMPLETE']);

const isBusy = (status: string) => status.endsWith('_IN_PROGRESS');

function existingFrom(stack: Stack): ExistingStack {
  return {
    id: stack.StackId ?? stack.StackName ?? '',
    name: stack.StackName ?? '',
    status: stack.StackStatus ?? 'UNKNOWN',
    reason: stack.StackStatusReason ?? null,
    parameters: Object.fromEntries((stack.Parameters ?? []).map((p) => [p.ParameterKey ?? '', p.ParameterValue ?? ''])),
    outputs: Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? ''])),
    lastUpdated: stack.LastUpdatedTime ?? null,
  };
}

/** The stack of this name or id, or null when there is none (deleted stacks count as none). */
export async function describeStack(aws: AwsSession, nameOrId: string): Promise<ExistingStack | null> {
  try {
    const stack = (await aws.cfn.send(new DescribeStacksCommand({ StackName: nameOrId }))).Stacks?.[0];
    if (!stack || (stack.StackStatus === 'DELETE_COMPLETE' && !nameOrId.startsWith('arn:'))) return null;
    return existingFrom(stack);
  } catch (error) {
    if (/does not exist/i.test(awsErrorMessage(error))) return null;
    throw new CliError(`AWS cloudformation:DescribeStacks ${nameOrId} failed: ${awsErrorMessage(error)}`, { cause: error });
  }
}

/** The parameters that differ between the stack and the spec (NoEcho ones only when told). */
export function parameterChanges(spec: StackSpec, existing: ExistingStack): ParameterChange[] {
  const changes: ParameterChange[] = [];
  for (const [key, after] of Object.entries(spec.parameters)) {
    const before = existing.parameters[key];
    if (spec.noEcho?.includes(key)) {
      // AWS answers ****; moto answers the value. Either way a new secret must be sent.
      if (spec.secretChanged || (before !== undefined && before !== '****' && before !== after)) {
        changes.push({ key, before: before === undefined ? null : '(hidden)', after: '(hidden)' });
      }
      continue;
    }
    if (before !== after) changes.push({ key, before: before ?? null, after });
  }
  return changes;
}

/** What deploying `spec` would do, without changing anything. */
export async function planStack(aws: AwsSession, spec: StackSpec): Promise<StackPlan> {
  const existing = await describeStack(aws, spec.name);
  if (!existing) return { spec, existing, action: 'create', changes: [], templateChanged: false, busy: false };
  if (FAILED_TO_CREATE.has(existing.status)) return { spec, existing, action: 'recreate', changes: [], templateChanged: false, busy: false };
  if (isBusy(existing.status)) return { spec, existing, action: 'update', changes: [], templateChanged: false, busy: true };
  if (!STABLE.has(existing.status)) {
    throw new CliError(
      `stack ${spec.name} is ${existing.status}${existing.reason ? ` (${existing.reason})` : ''}; the wizard cannot continue from there. ` +
        'Look at it in the CloudFormation console, fix or delete it, and run the wizard again.',
    );
  }
  const changes = parameterChanges(spec, existing);
  const template = await awsCall(`cloudformation:GetTemplate ${spec.name}`, () =>
    aws.cfn.send(new GetTemplateCommand({ StackName: existing.id, TemplateStage: 'Original' })),
  );
  const templateChanged = (template.TemplateBody ?? '').trim() !== templateText(spec.template).trim();
  const action = changes.length > 0 || templateChanged ? 'update' : 'unchanged';
  return { spec, existing, action, changes, templateChanged, busy: false };
}

function eventLine(e: StackEvent): string {
  const time = e.Timestamp ? e.Timestamp.toISOString().slice(11, 19) : '--:--:--';
  const reason = e.ResourceStatusReason ? `  ${e.ResourceStatusReason}` : '';
  return `  ${time}  ${(e.ResourceStatus ?? '').padEnd(20)}  ${(e.ResourceType ?? '').padEnd(32)}  ${e.LogicalResourceId ?? ''}${reason}`;
}

async function newEvents(aws: AwsSession, stackId: string, seen: Set<string>): Promise<StackEvent[]> {
  let page;
  try {
    page = await aws.cfn.send(new DescribeStackEventsCommand({ StackName: stackId }));
  } catch {
    return []; // events are for people; a failed read must not fail the deployment
  }
  const fresh = (page.StackEvents ?? []).filter((e) => e.EventId && !seen.has(e.EventId));
  for (const e of fresh) seen.add(e.EventId!);
  return fresh.reverse();
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits until the stack's operation ends, printing its events; returns the final stack. */
async function waitForStack(aws: AwsSession, stackId: string, label: string, seen: Set<string>, hooks: DeployHooks): Promise<ExistingStack> {
  const started = Date.now();
  for (let first = true; ; first = false) {
    if (!first) await sleep(hooks.pollMs ?? 3000);
    const stack = await describeStack(aws, stackId);
    for (const e of await newEvents(aws, stackId, seen)) hooks.onEvent?.(eventLine(e));
    if (!stack) throw new CliError(`stack ${label} disappeared while the wizard waited for it`);
    if (!isBusy(stack.status)) return stack;
    hooks.onStatus?.(`${label}: ${stack.status} (${Math.round((Date.now() - started) / 1000)} s)`);
  }
}

async function failureReasons(aws: AwsSession, stackId: string): Promise<string[]> {
  try {
    const page = await aws.cfn.send(new DescribeStackEventsCommand({ StackName: stackId }));
    return (page.StackEvents ?? [])
      .filter((e) => (e.ResourceStatus ?? '').endsWith('_FAILED') && e.ResourceStatusReason && !/cancelled/i.test(e.ResourceStatusReason))
      .reverse()
      .map((e) => `${e.LogicalResourceId}: ${e.ResourceStatusReason}`);
  } catch {
    return [];
  }
}

async function failed(aws: AwsSession, stack: ExistingStack, doing: string): Promise<CliError> {
  const reasons = await failureReasons(aws, stack.id);
  return new CliError(
    `${doing} stack ${stack.name} failed: it is ${stack.status}${stack.reason ? ` (${stack.reason})` : ''}. ` +
      'Fix the cause and run the wizard again: it continues from here.',
    { issues: reasons.slice(0, 10).map((message) => ({ path: '', message })) },
  );
}

/**
 * Makes the stack match `spec`: creates it, updates it, or leaves it alone, and waits for the end.
 * Returns what was done and the stack's outputs.
 */
export async function deployStack(aws: AwsSession, spec: StackSpec, hooks: DeployHooks = {}): Promise<{ result: StackResult; outputs: Record<string, string>; stack: ExistingStack }> {
  const capabilities = [...(TEMPLATES.find((t) => t.name === spec.template)?.capabilities ?? [])] as Capability[];
  const parameters = Object.entries(spec.parameters).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue }));
  const tags = Object.entries(spec.tags ?? {}).map(([Key, Value]) => ({ Key, Value }));
  const seen = new Set<string>();

  let plan = await planStack(aws, spec);
  if (plan.busy && plan.existing) {
    hooks.onEvent?.(`  stack ${spec.name} is ${plan.existing.status} (an earlier run?); waiting for it to finish`);
    await newEvents(aws, plan.existing.id, seen); // what happened before is not news
    await waitForStack(aws, plan.existing.id, spec.name, seen, hooks);
    plan = await planStack(aws, spec);
  }
  let recreated = false;
  if (plan.action === 'recreate' && plan.existing) {
    hooks.onEvent?.(`  stack ${spec.name} is ${plan.existing.status}: its creation failed earlier, so it is deleted and created again`);
    await awsCall(`cloudformation:DeleteStack ${spec.name}`, () => aws.cfn.send(new DeleteStackCommand({ StackName: plan.existing!.id })));
    await newEvents(aws, plan.existing.id, seen);
    const gone = await waitForStack(aws, plan.existing.id, spec.name, seen, hooks);
    if (gone.status !== 'DELETE_COMPLETE') throw await failed(aws, gone, 'Deleting');
    recreated = true;
    plan = { ...plan, existing: null, action: 'create' };
  }
  if (plan.action === 'unchanged' && plan.existing) return { result: 'unchanged', outputs: plan.existing.outputs, stack: plan.existing };

  if (plan.action === 'create') {
    const created = await awsCall(`cloudformation:CreateStack ${spec.name}`, () =>
      aws.cfn.send(
        new CreateStackCommand({
          StackName: spec.name,
          TemplateBody: templateText(spec.template),
          Parameters: parameters,
          Capabilities: capabilities,
          Tags: tags,
        }),
      ),
    );
    const stack = await waitForStack(aws, created.StackId ?? spec.name, spec.name, seen, hooks);
    if (stack.status !== 'CREATE_COMPLETE') throw await failed(aws, stack, 'Creating');
    return { result: recreated ? 'recreated' : 'created', outputs: stack.outputs, stack };
  }

  const existing = plan.existing!;
  await newEvents(aws, existing.id, seen);
  try {
    await aws.cfn.send(
      new UpdateStackCommand({
        StackName: existing.id,
        TemplateBody: templateText(spec.template),
        Parameters: parameters,
        Capabilities: capabilities,
        Tags: tags,
      }),
    );
  } catch (error) {
    // CloudFormation's way of saying the stack is already right.
    if (/No updates are to be performed/i.test(awsErrorMessage(error))) return { result: 'unchanged', outputs: existing.outputs, stack: existing };
    throw new CliError(`AWS cloudformation:UpdateStack ${spec.name} failed: ${awsErrorMessage(error)}`, { cause: error });
  }
  const stack = await waitForStack(aws, existing.id, spec.name, seen, hooks);
  if (stack.status !== 'UPDATE_COMPLETE') throw await failed(aws, stack, 'Updating');
  return { result: 'updated', outputs: stack.outputs, stack };
}
