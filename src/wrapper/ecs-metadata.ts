/**
 * ECS task metadata (endpoint v4): inside an ECS task, `ECS_CONTAINER_METADATA_URI_V4` points at
 * a local endpoint whose `/task` document names the task, its cluster, its size and its zone.
 * berth-wrap sends these with the start report so that Berth can show where a run ran.
 */
import http from 'node:http';

/** The start-report fields that come from the metadata. */
export interface EcsReportFields {
  execution_method_type: 'AWS ECS';
  execution_method_details: Record<string, unknown>;
  infrastructure_type: 'AWS';
  other_instance_metadata: Record<string, unknown>;
  allocated_cpu_units?: number;
  allocated_memory_mb?: number;
}

/** Fetches `${uri}/task`; null (never a throw) when it is not there in time or not JSON. */
export function fetchEcsTaskMetadata(uri: string, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL(`${uri.replace(/\/+$/, '')}/task`);
    } catch {
      resolve(null);
      return;
    }
    const request = http.get(url, { timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', () => resolve(null));
      response.on('end', () => {
        if (response.statusCode !== 200) return resolve(null);
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          resolve(null);
        }
      });
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(null));
  });
}

/** Maps a task metadata document to report fields; null when it is not one. */
export function ecsReportFields(task: unknown): EcsReportFields | null {
  if (task === null || typeof task !== 'object') return null;
  const t = task as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const taskArn = text(t.TaskARN);
  if (!taskArn) return null;
  const limits = (t.Limits ?? {}) as Record<string, unknown>;
  // Limits.CPU is in vCPUs (0.25); Berth, like ECS task definitions, counts CPU units (1024 = 1 vCPU).
  const cpu = typeof limits.CPU === 'number' && limits.CPU > 0 ? Math.round(limits.CPU * 1024) : undefined;
  const memory = typeof limits.Memory === 'number' && limits.Memory > 0 ? Math.round(limits.Memory) : undefined;
  const family = text(t.Family);
  const revision = text(t.Revision);
  const details: Record<string, unknown> = {
    task_arn: taskArn,
    cluster_arn: text(t.Cluster),
    launch_type: text(t.LaunchType),
    task_definition_family: family,
    task_definition_revision: revision,
    availability_zone: text(t.AvailabilityZone),
    allocated_cpu_units: cpu,
    allocated_memory_mb: memory,
  };
  const other: Record<string, unknown> = {
    availability_zone: text(t.AvailabilityZone),
    task_arn: taskArn,
    service_name: text(t.ServiceName),
  };
  return {
    execution_method_type: 'AWS ECS',
    execution_method_details: dropUndefined(details),
    infrastructure_type: 'AWS',
    other_instance_metadata: dropUndefined(other),
    ...(cpu !== undefined ? { allocated_cpu_units: cpu } : {}),
    ...(memory !== undefined ? { allocated_memory_mb: memory } : {}),
  };
}

function dropUndefined(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
}
