import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ecsReportFields, fetchEcsTaskMetadata } from './ecs-metadata.js';

const TASK = {
  Cluster: 'arn:aws:ecs:eu-west-1:123456789012:cluster/berth',
  TaskARN: 'arn:aws:ecs:eu-west-1:123456789012:task/berth/0123456789abcdef',
  Family: 'etl',
  Revision: '7',
  Limits: { CPU: 0.25, Memory: 512 },
  AvailabilityZone: 'eu-west-1b',
  LaunchType: 'FARGATE',
};

describe('ECS task metadata', () => {
  it('maps the /task document to start-report fields', () => {
    expect(ecsReportFields(TASK)).toEqual({
      execution_method_type: 'AWS ECS',
      infrastructure_type: 'AWS',
      allocated_cpu_units: 256,
      allocated_memory_mb: 512,
      execution_method_details: {
        task_arn: TASK.TaskARN,
        cluster_arn: TASK.Cluster,
        launch_type: 'FARGATE',
        task_definition_family: 'etl',
        task_definition_revision: '7',
        availability_zone: 'eu-west-1b',
        allocated_cpu_units: 256,
        allocated_memory_mb: 512,
      },
      other_instance_metadata: { availability_zone: 'eu-west-1b', task_arn: TASK.TaskARN },
    });
    expect(ecsReportFields({ nothing: true })).toBeNull();
    expect(ecsReportFields(null)).toBeNull();
  });

  it('fetches ${uri}/task, and gives null (not an error) when it is not there', async () => {
    const paths: string[] = [];
    const server = http.createServer((req, res) => {
      paths.push(req.url ?? '');
      if (req.url === '/v4/abc/task') res.end(JSON.stringify(TASK));
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect(await fetchEcsTaskMetadata(`${base}/v4/abc`, 2000)).toEqual(TASK);
      expect(await fetchEcsTaskMetadata(`${base}/v4/missing`, 2000)).toBeNull();
      expect(paths).toEqual(['/v4/abc/task', '/v4/missing/task']);
    } finally {
      server.close();
    }
    expect(await fetchEcsTaskMetadata(base, 2000)).toBeNull();
  });
});
