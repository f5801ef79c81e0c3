import { describe, expect, it } from 'vitest';
import { AwsEcsRunEnvironmentSpec } from '../../domain/run-environment.js';
import { TaskSpec } from '../../domain/task.js';
import { observationOf, serviceNameOf, serviceTemplateText, stackNameOf, stackParameters } from './ecs-service.js';

const ENV = AwsEcsRunEnvironmentSpec.parse({
  name: 'prod',
  kind: 'aws-ecs',
  region: 'eu-west-1',
  cluster: 'berth',
  subnets: ['subnet-0a1b2c3d4e5f60718'],
  security_groups: ['sg-0123456789abcdef0'],
  execution_role_arn: 'arn:aws:iam::123456789012:role/exec',
  tags: { Project: 'shop' },
});

describe('ECS service mapping', () => {
  it('names the service after the task definition family and the stack after the service, as stack names allow', () => {
    expect(serviceNameOf(ENV, 'web')).toBe('berth-web');
    expect(stackNameOf(ENV, 'web')).toBe('berth-web-lb');
    expect(stackNameOf({ ...ENV, task_definition_prefix: 'team_a-' }, 'api.v2')).toBe('team-a-api-v2-lb');
    expect(stackNameOf({ ...ENV, task_definition_prefix: '1x-' }, 'web')).toBe('s-1x-web-lb');
  });

  it('turns the load balancer settings into exactly the template\'s parameters', () => {
    const task = TaskSpec.parse({
      name: 'web',
      run_environment: 'prod',
      image: 'nginx',
      port_mappings: [{ container_port: 8080 }],
      service: {
        load_balancer: {
          container_port: 8080,
          allowed_cidrs: ['203.0.113.7/32', '10.0.0.0/8'],
          subnets: ['subnet-0a1b2c3d4e5f60718', 'subnet-0f1e2d3c4b5a69788'],
          listener: { certificate_arn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc-123' },
          dns: { hosted_zone_id: 'Z0123456789ABCDEFGHIJ', name: 'web.example.com' },
        },
      },
    });
    const params = stackParameters(task, task.service!, 'vpc-0123456789abcdef0', ENV.tags);
    expect(params).toEqual({
      ServiceName: 'web',
      VpcId: 'vpc-0123456789abcdef0',
      ContainerPort: '8080',
      Scheme: 'internal',
      LoadBalancerSubnets: 'subnet-0a1b2c3d4e5f60718,subnet-0f1e2d3c4b5a69788',
      AllowedCidr1: '203.0.113.7/32',
      AllowedCidr2: '10.0.0.0/8',
      ListenerPort: '443',
      ListenerProtocol: 'HTTPS',
      CertificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc-123',
      SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
      HealthCheckPath: '/',
      HealthCheckIntervalSeconds: '30',
      HealthCheckTimeoutSeconds: '5',
      HealthyThresholdCount: '3',
      UnhealthyThresholdCount: '3',
      HealthCheckMatcher: '200-399',
      HostedZoneId: 'Z0123456789ABCDEFGHIJ',
      DnsName: 'web.example.com',
      ProjectTag: 'shop',
    });
    // Every parameter Berth sets is one the template declares.
    const declared = [...serviceTemplateText().matchAll(/^ {2}([A-Za-z0-9]+):\n {4}Type:/gm)].map((m) => m[1]);
    for (const name of Object.keys(params)) expect(declared).toContain(name);
  });

  it('reads a described service: counts, deployments, events newest first (at most 10)', () => {
    const events = Array.from({ length: 12 }, (_, i) => ({ id: String(i), createdAt: new Date(Date.UTC(2026, 0, 1, 0, i)), message: `event ${i}` }));
    const o = observationOf({
      serviceArn: 'arn:aws:ecs:eu-west-1:123456789012:service/berth/berth-web',
      status: 'ACTIVE',
      taskDefinition: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/berth-web:3',
      desiredCount: 2,
      runningCount: 1,
      pendingCount: 1,
      deployments: [{ id: 'ecs-svc/1', status: 'PRIMARY', taskDefinition: 'td:3', desiredCount: 2, runningCount: 1, pendingCount: 1, failedTasks: 0, rolloutState: 'IN_PROGRESS' }],
      events,
    });
    expect(o).toMatchObject({ status: 'ACTIVE', desired_count: 2, running_count: 1, pending_count: 1 });
    expect(o.deployments).toEqual([
      expect.objectContaining({ id: 'ecs-svc/1', status: 'PRIMARY', task_definition: 'td:3', rollout_state: 'IN_PROGRESS', rollout_state_reason: null }),
    ]);
    expect(o.events.map((e) => e.message)).toEqual(['event 11', 'event 10', 'event 9', 'event 8', 'event 7', 'event 6', 'event 5', 'event 4', 'event 3', 'event 2']);
    expect(observationOf(undefined)).toMatchObject({ status: 'MISSING', running_count: 0, deployments: [] });
  });
});
