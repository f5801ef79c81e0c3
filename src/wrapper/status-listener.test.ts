import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { encodeStatusUpdate, sendStatusUpdate, StatusClient, statusPortFromEnv } from './client.js';
import { mergeStatus, parseStatusDatagram, StatusListener } from './status-listener.js';
import type { StatusState } from './status-listener.js';

describe('status datagrams', () => {
  it('reads one or more JSON lines, later values replacing earlier ones', () => {
    const { update, problems } = parseStatusDatagram(
      '{"success_count": 1, "expected_count": 10}\n{"success_count": 2, "last_status_message": "row 2", "other_runtime_metadata": {"shard": 3}}\n',
    );
    expect(problems).toEqual([]);
    expect(update).toEqual({ success_count: 2, expected_count: 10, last_status_message: 'row 2', other_runtime_metadata: { shard: 3 } });
  });

  it('ignores unknown keys and names bad fields without their values', () => {
    const { update, problems } = parseStatusDatagram('{"error_count": -1, "skipped_count": 2.5, "x": 1, "last_status_message": 42, "other_runtime_metadata": [1]}\nnot json\n[]');
    expect(update).toEqual({});
    expect(problems).toEqual([
      'error_count must be a whole number ≥ 0',
      'skipped_count must be a whole number ≥ 0',
      'last_status_message must be a string',
      'other_runtime_metadata must be a JSON object',
      'a line is not JSON',
      'a line is not a JSON object',
    ]);
  });

  it('merges field by field', () => {
    expect(mergeStatus({ success_count: 1, error_count: 4 }, { success_count: 2 })).toEqual({ success_count: 2, error_count: 4 });
  });

  it('encodes what the listener reads, and refuses a datagram too large for UDP', () => {
    const data = encodeStatusUpdate({ success_count: 3, last_status_message: 'x'.repeat(20_000) });
    expect(parseStatusDatagram(data).update).toEqual({ success_count: 3, last_status_message: 'x'.repeat(10_000) });
    expect(() => encodeStatusUpdate({ other_runtime_metadata: { big: 'y'.repeat(70_000) } })).toThrow(RangeError);
  });
});

describe('StatusListener and StatusClient', () => {
  it('carries updates from the client to the listener over a real socket', async () => {
    const updates: StatusState[] = [];
    const problems: string[] = [];
    let received: () => void = () => undefined;
    const listener = await StatusListener.start({
      port: 0,
      maxBytes: 65536,
      onUpdate: (u) => {
        updates.push(u);
        if (updates.length === 3) received();
      },
      onProblem: (p) => problems.push(p),
    });
    const done = new Promise<void>((r) => (received = r));
    const client = new StatusClient({ env: { BERTH_WRAP_STATUS_PORT: String(listener.port) } });
    try {
      expect(client.enabled).toBe(true);
      expect(await client.send({ expected_count: 5 })).toBe(true);
      expect(await client.increment({ success: 2 }, 'two done')).toBe(true);
      expect(await sendStatusUpdate({ error_count: 1 }, { port: listener.port })).toBe(true);
      await done;
    } finally {
      client.close();
      listener.close();
    }
    expect(updates).toEqual([
      { expected_count: 5 },
      { success_count: 2, error_count: 0, skipped_count: 0, last_status_message: 'two done' },
      { error_count: 1 },
    ]);
    expect(problems).toEqual([]);
  });

  it('drops datagrams over the size limit with a warning', async () => {
    const problems: string[] = [];
    let warned: () => void = () => undefined;
    const done = new Promise<void>((r) => (warned = r));
    const listener = await StatusListener.start({
      port: 0,
      maxBytes: 100,
      onUpdate: () => undefined,
      onProblem: (p) => {
        problems.push(p);
        warned();
      },
    });
    try {
      await sendStatusUpdate({ last_status_message: 'z'.repeat(200) }, { port: listener.port });
      await done;
    } finally {
      listener.close();
    }
    expect(problems[0]).toMatch(/status update of \d+ bytes was dropped: the limit is 100/);
  });

  it('fails to start on a port already taken', async () => {
    const taken = dgram.createSocket('udp4');
    await new Promise<void>((r) => taken.bind(0, '127.0.0.1', r));
    try {
      await expect(
        StatusListener.start({ port: taken.address().port, maxBytes: 65536, onUpdate: () => undefined, onProblem: () => undefined }),
      ).rejects.toThrow(/EADDRINUSE/);
    } finally {
      taken.close();
    }
  });

  it('does nothing outside berth-wrap', async () => {
    expect(statusPortFromEnv({})).toBeNull();
    expect(statusPortFromEnv({ PROC_WRAPPER_STATUS_UPDATE_SOCKET_PORT: '2373' })).toBe(2373);
    expect(statusPortFromEnv({ BERTH_WRAP_STATUS_PORT: 'x' })).toBeNull();
    const client = new StatusClient({ env: {} });
    expect(client.enabled).toBe(false);
    expect(await client.send({ success_count: 1 })).toBe(false);
  });
});
