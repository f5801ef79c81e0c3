import net from 'node:net';
import { DescribeTasksCommand } from '@aws-sdk/client-ecs';
import { afterEach, describe, expect, it } from 'vitest';
import { AwsEcsRunEnvironmentSpec } from '../../domain/run-environment.js';
import { classifyAwsError } from './aws-calls.js';
import { AWS_TIMEOUTS, EcsClientFactory } from './ecs-clients.js';

// A real socket that accepts connections and never answers: what a hung AWS endpoint (or a proxy
// that lost its upstream) looks like to the SDK.

const sockets = new Set<net.Socket>();
const servers: net.Server[] = [];
const factories: EcsClientFactory[] = [];

afterEach(async () => {
  for (const f of factories.splice(0)) f.close();
  for (const s of sockets) s.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function silentEndpoint(): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return { url: `http://127.0.0.1:${port}`, connections: () => connections };
}

function env(endpoint: string, extra: Record<string, unknown> = {}) {
  return AwsEcsRunEnvironmentSpec.parse({
    name: 'hung',
    kind: 'aws-ecs',
    region: 'eu-west-1',
    cluster: 'berth',
    subnets: ['subnet-0123456789abcdef0'],
    security_groups: ['sg-0123456789abcdef0'],
    execution_role_arn: 'arn:aws:iam::123456789012:role/berth-task-execution',
    endpoint_url: endpoint,
    ...extra,
  });
}

const SHORT = { connectionTimeout: 1_000, requestTimeout: 400, throwOnRequestTimeout: true } as const;
const KEYS = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'example-secret' };

describe('EcsClientFactory request time limits', () => {
  it('fails a call that gets no answer as a TimeoutError, an unknown outcome for the retry policy', async () => {
    const endpoint = await silentEndpoint();
    const factory = new EcsClientFactory({ defaultCredentials: KEYS, timeouts: SHORT });
    factories.push(factory);
    const clients = factory.for(env(endpoint.url));
    const began = Date.now();
    const error = await clients.ecs.send(new DescribeTasksCommand({ cluster: 'berth', tasks: ['t-1'] })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('TimeoutError');
    expect(classifyAwsError(error)).toBe('unknown-outcome');
    expect(endpoint.connections()).toBeGreaterThan(0);
    expect(Date.now() - began).toBeLessThan(5_000);
  });

  it('bounds the role assumption (STS) the same way', async () => {
    const endpoint = await silentEndpoint();
    const factory = new EcsClientFactory({ defaultCredentials: KEYS, timeouts: SHORT });
    factories.push(factory);
    const clients = factory.for(env(endpoint.url, { role_arn: 'arn:aws:iam::123456789012:role/berth-control', external_id: 'ext-id-0123456789' }));
    const began = Date.now();
    const error = await clients.ecs.send(new DescribeTasksCommand({ cluster: 'berth', tasks: ['t-1'] })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(String((error as Error).name) + String((error as Error).message)).toMatch(/timeout/i);
    expect(Date.now() - began).toBeLessThan(5_000);
  });

  it('uses 5 s to connect and 30 s for an answer unless told otherwise', () => {
    const factory = new EcsClientFactory({ defaultCredentials: KEYS });
    factories.push(factory);
    expect(factory.for(env('http://127.0.0.1:9')).config.requestHandler).toEqual(AWS_TIMEOUTS);
    expect(AWS_TIMEOUTS).toEqual({ connectionTimeout: 5_000, requestTimeout: 30_000, throwOnRequestTimeout: true });
  });
});
