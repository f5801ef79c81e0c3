import { z } from 'zod';
import { NotificationProfileSpec } from './notification-profile.js';
import { RunEnvironmentSpec } from './run-environment.js';
import { TaskSpec } from './task.js';
import { WorkflowSpec } from './workflow.js';

/**
 * The declarative configuration file, `berth.yaml`. Field names are the API's. `berth apply`
 * validates the whole document, then writes it in one transaction: all or nothing.
 */
export const BerthConfig = z
  .strictObject({
    version: z.literal(1, { message: 'version must be 1 (the only format so far)' }).default(1),
    run_environments: z.array(RunEnvironmentSpec).default([]),
    tasks: z.array(TaskSpec).default([]),
    workflows: z.array(WorkflowSpec).default([]).describe('Workflows: Tasks chained by transitions (docs/workflows.md).'),
    notification_profiles: z
      .array(NotificationProfileSpec)
      .default([])
      .describe('Notification Profiles: who is told about which events, and how (docs/notifications.md).'),
  })
  .superRefine((doc, ctx) => {
    const seen = (kind: 'run_environments' | 'tasks' | 'workflows' | 'notification_profiles', items: { name: string }[]) => {
      const first = new Map<string, number>();
      items.forEach((item, index) => {
        const earlier = first.get(item.name);
        if (earlier !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [kind, index, 'name'],
            message: `duplicate name "${item.name}" (also ${kind}[${earlier}]); names are unique per kind`,
          });
        } else first.set(item.name, index);
      });
    };
    seen('run_environments', doc.run_environments);
    seen('tasks', doc.tasks);
    seen('workflows', doc.workflows);
    seen('notification_profiles', doc.notification_profiles);
  })
  .describe('Berth declarative configuration (berth.yaml).');
export type BerthConfig = z.infer<typeof BerthConfig>;
export type BerthConfigInput = z.input<typeof BerthConfig>;
