import { z } from 'zod';
import { RunEnvironment, RunEnvironmentSpec } from '../../../domain/run-environment.js';
import { runEnvironmentResource } from '../../representations.js';
import { defineRoute } from '../route.js';
import { page, pageOf, PagingQuery } from './paging.js';

const Params = z.strictObject({ run_environment: z.string().min(1).describe('uuid or name') });
const TAG = 'run_environments';

export const runEnvironmentRoutes = [
  defineRoute({
    method: 'GET',
    url: '/api/v1/run_environments',
    operationId: 'listRunEnvironments',
    summary: 'List Run Environments, by name.',
    tag: TAG,
    scope: 'reporter',
    query: z.strictObject({ ...PagingQuery }),
    responses: { 200: { description: 'A page of Run Environments.', schema: pageOf(RunEnvironment) } },
    handler: async ({ query, services, request }) => {
      const { items, total } = await services.ctx.store.listRunEnvironments(query);
      return { status: 200, body: page(request.url, query.limit, query.offset, total, items.map(runEnvironmentResource)) };
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/v1/run_environments',
    operationId: 'upsertRunEnvironment',
    summary: 'Create a Run Environment, or replace the one with the same name.',
    tag: TAG,
    scope: 'developer',
    body: RunEnvironmentSpec,
    errors: ['NAME_TAKEN'],
    responses: {
      200: { description: 'Replaced.', schema: RunEnvironment },
      201: { description: 'Created.', schema: RunEnvironment },
    },
    handler: async ({ body, services }) => {
      const { record, created } = await services.catalog.upsertRunEnvironment(body);
      return { status: created ? 201 : 200, body: runEnvironmentResource(record) };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/v1/run_environments/:run_environment',
    operationId: 'getRunEnvironment',
    summary: 'One Run Environment, by uuid or name.',
    tag: TAG,
    scope: 'reporter',
    params: Params,
    errors: ['RUN_ENVIRONMENT_NOT_FOUND'],
    responses: { 200: { description: 'The Run Environment.', schema: RunEnvironment } },
    handler: async ({ params, services }) => ({
      status: 200,
      body: runEnvironmentResource(await services.catalog.requireRunEnvironment(params.run_environment)),
    }),
  }),
  defineRoute({
    method: 'PATCH',
    url: '/api/v1/run_environments/:run_environment',
    operationId: 'updateRunEnvironment',
    summary: 'Change some fields of a Run Environment; the result is validated as a whole.',
    tag: TAG,
    scope: 'developer',
    params: Params,
    body: z.record(z.string(), z.unknown()).describe('Any fields of a Run Environment.'),
    errors: ['RUN_ENVIRONMENT_NOT_FOUND'],
    responses: { 200: { description: 'Updated.', schema: RunEnvironment } },
    handler: async ({ params, body, services }) => ({
      status: 200,
      body: runEnvironmentResource(await services.catalog.patchRunEnvironment(params.run_environment, body)),
    }),
  }),
  defineRoute({
    method: 'DELETE',
    url: '/api/v1/run_environments/:run_environment',
    operationId: 'deleteRunEnvironment',
    summary: 'Delete a Run Environment that no Task or key uses.',
    tag: TAG,
    scope: 'developer',
    params: Params,
    errors: ['RUN_ENVIRONMENT_NOT_FOUND', 'RUN_ENVIRONMENT_IN_USE'],
    responses: { 204: { description: 'Deleted.' } },
    handler: async ({ params, services }) => {
      await services.catalog.deleteRunEnvironment(params.run_environment);
      return { status: 204 };
    },
  }),
];
