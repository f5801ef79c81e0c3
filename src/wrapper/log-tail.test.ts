import { describe, expect, it } from 'vitest';
import { LogTail } from './log-tail.js';

describe('LogTail', () => {
  it('keeps the last lines only, across chunks', () => {
    const tail = new LogTail(3, 100);
    tail.write('one\ntw');
    tail.write('o\nthree\nfour\nfi');
    expect(tail.text()).toBe('three\nfour\nfi');
    tail.write('ve\n');
    expect(tail.text()).toBe('three\nfour\nfive');
    expect(tail.last(2)).toBe('four\nfive');
    expect(tail.last(0)).toBe('');
  });

  it('holds at most capacity × max line length characters however much is written', () => {
    const tail = new LogTail(2, 10);
    for (let i = 0; i < 10_000; i++) tail.write(`line ${i} ${'x'.repeat(50)}\n`);
    tail.write('y'.repeat(1_000_000));
    const text = tail.text();
    expect(text.split('\n')).toEqual(['line 9999 …', 'yyyyyyyyyy…']);
  });

  it('decodes UTF-8 split between chunks and drops \\r of \\r\\n', () => {
    const tail = new LogTail(5, 100);
    const bytes = Buffer.from('héllo wörld\r\nnext\r\n');
    for (const byte of bytes) tail.write(Buffer.from([byte]));
    expect(tail.text()).toBe('héllo wörld\nnext');
  });

  it('keeps nothing with capacity 0', () => {
    const tail = new LogTail(0, 100);
    tail.write('a\nb\n');
    expect(tail.text()).toBe('');
  });
});
