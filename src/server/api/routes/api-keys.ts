import { z } from 'zod';
import { ApiKey, CreateApiKeyRequest } from '../../../domain/api-key.js';
import type { ApiKeyRecord } from '../../../store/store.js';
import { apiKeyResource } from '../../representations.js';
import type { Services } from '../services.js';
import { defineRoute } from '../route.js';

const TAG = 'api_keys';

async function resource(services: Services, key: ApiKeyRecord) {
  const env = key.run_environment_uuid ? await services.ctx.store.getRunEnvironment(key.run_environment_uuid) : null;
  return apiKeyResource(key, env ? { uuid: env.uuid, name: env.name } : null);
}

export const apiKeyRoutes = [
  defineRoute({
    method: 'GET',
    url: '/api/v1/api_keys',
    operationId: 'listApiKeys',
    summary: 'List API keys (never their values).',
    tag: TAG,
    scope: 'admin',
    responses: { 200: { description: 'All keys, oldest first.', schema: z.object({ results: z.array(ApiKey) }) } },
    handler: async ({ services }) => {
      const keys = await services.ctx.store.listApiKeys();
      return { status: 200, body: { results: await Promise.all(keys.map((k) => resource(services, k))) } };
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/v1/api_keys',
    operationId: 'createApiKey',
    summary: 'Create an API key. Its value is in this response only; Berth keeps just a hash.',
    tag: TAG,
    scope: 'admin',
    body: CreateApiKeyRequest,
    errors: ['NAME_TAKEN', 'RUN_ENVIRONMENT_NOT_FOUND'],
    responses: {
      201: {
        description: 'Created.',
        schema: z.object({ api_key: ApiKey, key: z.string().describe('The key. Store it now: it is never shown again.') }),
      },
    },
    handler: async ({ body, services }) => {
      const { record, key } = await services.keys.create(body);
      return { status: 201, body: { api_key: await resource(services, record), key } };
    },
  }),
  defineRoute({
    method: 'DELETE',
    url: '/api/v1/api_keys/:key',
    operationId: 'revokeApiKey',
    summary: 'Revoke an API key (by uuid, prefix or name). It stops working at once on this server, within 5 s on others.',
    tag: TAG,
    scope: 'admin',
    params: z.strictObject({ key: z.string().min(1).describe('uuid, prefix or name') }),
    errors: ['API_KEY_NOT_FOUND'],
    responses: { 200: { description: 'Revoked.', schema: ApiKey } },
    handler: async ({ params, services }) => ({
      status: 200,
      body: await resource(services, await services.keys.revoke(params.key)),
    }),
  }),
];
