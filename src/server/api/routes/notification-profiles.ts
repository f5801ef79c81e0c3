import { z } from 'zod';
import { NotificationProfile, NotificationProfileSpec } from '../../../domain/notification-profile.js';
import { profileResource } from '../../notifier/notification-service.js';
import { defineRoute } from '../route.js';
import { page, pageOf, PagingQuery } from './paging.js';

const Params = z.strictObject({ profile: z.string().min(1).describe('uuid or name') });
const TAG = 'notification_profiles';

const TestResult = z.object({
  method: z.string(),
  type: z.string(),
  ok: z.boolean(),
  status: z.number().int().nullable().describe('HTTP status or SMTP reply code, when the receiver answered.'),
  error: z.string().nullable().describe('What went wrong, for people (never a secret).'),
  duration_ms: z.number().int(),
});

export const notificationProfileRoutes = [
  defineRoute({
    method: 'GET',
    url: '/api/v1/notification_profiles',
    operationId: 'listNotificationProfiles',
    summary: 'List Notification Profiles, by name. Secrets are shown as {"secret_set": true}.',
    tag: TAG,
    scope: 'reporter',
    query: z.strictObject({ ...PagingQuery }),
    responses: { 200: { description: 'A page of Notification Profiles.', schema: pageOf(NotificationProfile) } },
    handler: async ({ query, services, request }) => {
      const { items, total } = await services.ctx.store.notifications.listProfiles(query);
      return { status: 200, body: page(request.url, query.limit, query.offset, total, items.map(profileResource)) };
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/v1/notification_profiles',
    operationId: 'upsertNotificationProfile',
    summary: 'Create a Notification Profile, or replace the one with the same name.',
    description:
      'Delivery secrets are references (ENV:NAME, FILE:/path, AWS secret ARNs) or {"value": "…"}, stored encrypted (AES-256-GCM). They are never returned: answers show {"secret_set": true}, and sending that back keeps the stored secret. See docs/notifications.md.',
    tag: TAG,
    scope: 'developer',
    body: NotificationProfileSpec,
    errors: ['NAME_TAKEN'],
    responses: {
      200: { description: 'Replaced.', schema: NotificationProfile },
      201: { description: 'Created.', schema: NotificationProfile },
    },
    handler: async ({ body, services }) => {
      const { record, created } = await services.notifications.upsert(body);
      return { status: created ? 201 : 200, body: profileResource(record) };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/v1/notification_profiles/:profile',
    operationId: 'getNotificationProfile',
    summary: 'One Notification Profile, by uuid or name.',
    tag: TAG,
    scope: 'reporter',
    params: Params,
    errors: ['NOTIFICATION_PROFILE_NOT_FOUND'],
    responses: { 200: { description: 'The Notification Profile.', schema: NotificationProfile } },
    handler: async ({ params, services }) => ({ status: 200, body: profileResource(await services.notifications.require(params.profile)) }),
  }),
  defineRoute({
    method: 'DELETE',
    url: '/api/v1/notification_profiles/:profile',
    operationId: 'deleteNotificationProfile',
    summary: 'Delete a Notification Profile that no Run Environment, Task or Workflow names.',
    tag: TAG,
    scope: 'developer',
    params: Params,
    errors: ['NOTIFICATION_PROFILE_NOT_FOUND', 'NOTIFICATION_PROFILE_IN_USE'],
    responses: { 204: { description: 'Deleted.' } },
    handler: async ({ params, services }) => {
      await services.notifications.delete(params.profile);
      return { status: 204 };
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/v1/notification_profiles/:profile/test',
    operationId: 'testNotificationProfile',
    summary: 'Send a test event through every method of the profile now, and say how each went.',
    description:
      'No queue, rate limit or retry: each method is tried once (10 s limit). A method that fails is a result (ok: false with the error), not an error answer.',
    tag: TAG,
    scope: 'developer',
    params: Params,
    errors: ['NOTIFICATION_PROFILE_NOT_FOUND'],
    responses: {
      200: {
        description: 'One result per method.',
        schema: z.object({ profile: z.object({ uuid: z.string(), name: z.string() }), ok: z.boolean(), results: z.array(TestResult) }),
      },
    },
    handler: async ({ params, services }) => ({ status: 200, body: await services.notifications.test(params.profile) }),
  }),
];
