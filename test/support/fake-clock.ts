import { expect } from 'vitest';
import type { Clock } from '../../src/server/context.js';

/** A server clock that moves only when a test moves it, and only forward. */
export class FakeClock implements Clock {
  constructor(private t: number) {}
  now = () => this.t;
  advance(ms: number): number {
    this.t += ms;
    return this.t;
  }
  set(ms: number): number {
    if (ms < this.t) throw new Error('the fake clock only moves forward');
    this.t = ms;
    return ms;
  }
}

/** The body of an API reply, after checking its status is one of `statuses`. */
export async function ok(reply: Promise<{ status: number; body: any }>, statuses = [200, 201]) {
  const r = await reply;
  expect(statuses, JSON.stringify(r.body)).toContain(r.status);
  return r.body;
}
