/** The dashboard's pure pieces (no DOM): the Start dialog's environment text and the graph layout. */
import { describe, expect, it } from 'vitest';
import { parseEnvironment } from '../../web/src/environment-text.js';
import { layout, NODE_W } from '../../web/src/graph-layout.js';
import { statusTone } from '../../web/src/format.js';

describe('parseEnvironment', () => {
  it('reads KEY=value lines, keeping "=" in values and skipping blanks and comments', () => {
    expect(parseEnvironment('A=1\n\n# note\n B_2 = x=y \nEMPTY=')).toEqual({ ok: true, env: { A: '1', B_2: ' x=y', EMPTY: '' } });
  });

  it('names the first bad line and what a line must look like', () => {
    const bad = parseEnvironment('A=1\n2X=3');
    expect(bad).toEqual({ ok: false, error: expect.stringContaining('Line 2: write KEY=value') });
    expect(parseEnvironment('just words').ok).toBe(false);
  });
});

describe('layout', () => {
  it('puts every node right of the nodes it comes after, whatever order the definition lists them in', () => {
    const nodes = [{ name: 'report' }, { name: 'load' }, { name: 'extract' }, { name: 'alert' }];
    const edges = [
      { from: 'extract', to: 'load' },
      { from: 'extract', to: 'alert' },
      { from: 'load', to: 'report' },
      { from: 'alert', to: 'report' },
    ];
    const { position, width } = layout(nodes, edges);
    for (const e of edges) expect(position.get(e.to)!.x, `${e.from} → ${e.to}`).toBeGreaterThan(position.get(e.from)!.x);
    expect(position.get('load')!.x).toBe(position.get('alert')!.x);
    expect(position.get('load')!.y).not.toBe(position.get('alert')!.y);
    expect(width).toBeGreaterThanOrEqual(3 * NODE_W);
  });
});

describe('statusTone', () => {
  it('gives each status family one colour', () => {
    expect(['SUCCEEDED', 'FIRED'].map(statusTone)).toEqual(['ok', 'ok']);
    expect(['FAILED', 'TERMINATED_AFTER_TIME_OUT', 'ABANDONED', 'ABORTED'].map(statusTone)).toEqual(['bad', 'bad', 'bad', 'bad']);
    expect(['RUNNING', 'MANUALLY_STARTED'].map(statusTone)).toEqual(['run', 'run']);
    expect(['QUEUED', 'STOPPING', 'WAITING'].map(statusTone)).toEqual(['wait', 'wait', 'wait']);
    expect(['STOPPED', 'SKIPPED', 'NOT_STARTED'].map(statusTone)).toEqual(['off', 'off', 'off']);
  });
});
