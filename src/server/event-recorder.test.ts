/**
 * `raiseEvent` as another part of the server uses it (a service watcher, say), through the real
 * notifier on a real SQLite store to a real HTTP receiver: a SERVICE_BELOW_DESIRED_COUNT episode
 * opens one incident and one notification, and its RESOLVED event closes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/temp.js';
import { startHttpReceiver } from '../../test/support/receivers.js';
import type { HttpReceiver } from '../../test/support/receivers.js';
import { LocalRunEnvironmentSpec } from '../domain/run-environment.js';
import { NotificationProfileSpec } from '../domain/notification-profile.js';
import { TaskSpec } from '../domain/task.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import type { ServerContext } from './context.js';
import { raiseEvent } from './event-recorder.js';
import { silentLogger } from './logger.js';
import { sealProfile } from './notifier/delivery-secrets.js';
import { Notifier } from './notifier/notifier.js';
import { secretBoxFromKey } from './secret-box.js';

describe('raiseEvent', () => {
  const temp = tempDir('berth-raise-');
  let store: Store;
  let http: HttpReceiver;
  let notifier: Notifier;
  let now = 1_800_000_000_000;

  beforeAll(async () => {
    http = await startHttpReceiver();
    store = await openStore({ dataDir: temp.dir });
    const box = secretBoxFromKey(Buffer.alloc(32, 3), 'test');
    const ctx: ServerContext = {
      store,
      clock: { now: () => now },
      log: silentLogger,
      executors: new Map(),
      instanceId: 'test-instance',
      hostname: 'test',
      wakeLauncher: () => undefined,
      wakeMonitor: () => undefined,
    };
    notifier = new Notifier(ctx, { intervalMs: 1000, publicUrl: () => 'https://berth.example.com', box, hostEnvironment: {} });
    const profile = NotificationProfileSpec.parse({ name: 'svc', methods: [{ name: 'hook', type: 'webhook', url: `${http.url}/svc` }] });
    await store.notifications.upsertProfile('svc', sealProfile(profile, null, box), now);
    const env = (await store.upsertRunEnvironment(LocalRunEnvironmentSpec.parse({ name: 'local', kind: 'local' }), now)).record;
    await store.upsertTask(TaskSpec.parse({ name: 'api', run_environment: 'local', command: 'true', notification_profiles: ['svc'] }), env.uuid, now);
  });
  afterAll(async () => {
    await store?.close();
    await http?.stop();
    temp.cleanup();
  });

  it('records a service episode once, notifies it once, and resolves it', async () => {
    const task = (await store.getTask('api'))!;
    const input = {
      type: 'SERVICE_BELOW_DESIRED_COUNT' as const,
      task: { uuid: task.uuid, name: task.name },
      message: 'Service "api" runs 1 of 3 desired tasks',
      details: { running: 1, desired: 3 },
      dedupe_key: `SERVICE_BELOW_DESIRED_COUNT:${task.uuid}:${now}`,
    };
    const first = await raiseEvent(store, now, input);
    expect(first).toEqual(expect.any(String));
    // Raised again by another server for the same episode: not recorded twice.
    expect(await raiseEvent(store, now, input)).toBeNull();
    const event = (await store.notifications.getEvent(first!))!;
    expect(event).toMatchObject({ type: 'SERVICE_BELOW_DESIRED_COUNT', severity: 'error', grouping_key: 'service', task_name: 'api' });

    await notifier.pass();
    const [hook] = await http.waitFor('/svc', 1);
    expect(hook!.json).toMatchObject({ action: 'trigger', event: { type: 'SERVICE_BELOW_DESIRED_COUNT', grouping_key: 'service', details: { running: 1, desired: 3 } } });

    now += 60_000;
    await expect(raiseEvent(store, now, { type: 'RESOLVED', task: input.task, message: 'x', dedupe_key: 'y' })).rejects.toThrow(/needs the grouping_key/);
    await raiseEvent(store, now, {
      type: 'RESOLVED',
      grouping_key: 'service',
      task: input.task,
      message: 'Service "api" runs 3 of 3 desired tasks again',
      dedupe_key: `RESOLVED:service:${task.uuid}:${now}`,
    });
    await notifier.pass();
    const hooks = await http.waitFor('/svc', 2);
    expect(hooks[1]!.json).toMatchObject({ action: 'resolve', event: { type: 'RESOLVED', grouping_key: 'service' } });
    expect(await store.notifications.listOpenIncidents('task', task.uuid)).toEqual([]);
  });
});
