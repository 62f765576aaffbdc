import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SamplingRng } from '../../../engine/generation/rng.ts';
import { samplingParams } from '../../../engine/generation/sampling-params.ts';
import { StopStringMatcher } from '../../../engine/generation/stop-strings.ts';

describe('stop strings', () => {
  it('hold back a possible prefix and cut at the stop string, across chunk boundaries', () => {
    const m = new StopStringMatcher(['</s>', 'STOP']);
    const pieces = ['Hello <', '/', 'x> wor', 'ld ST', 'O', 'P and more'];
    const out: string[] = [];
    let stopped: string | null = null;
    for (const p of pieces) {
      const r = m.push(p);
      out.push(r.emit);
      if (r.stopped) {
        stopped = r.stopped;
        break;
      }
    }
    assert.equal(out.join(''), 'Hello </x> world ');
    assert.equal(stopped, 'STOP');
    assert.deepEqual(out, ['Hello ', '', '</x> wor', 'ld ', '', '']);
  });
  it('flushes held text when generation ends without a stop', () => {
    const m = new StopStringMatcher(['###']);
    assert.equal(m.push('a #').emit, 'a ');
    assert.equal(m.push('#').emit, '');
    assert.equal(m.flush(), '##');
  });
  it('picks the earliest stop string when several match', () => {
    const m = new StopStringMatcher(['bc', 'ab']);
    assert.deepEqual(m.push('xabc'), { emit: 'x', stopped: 'ab' });
  });
});

describe('sampling params', () => {
  it('fills defaults and rejects bad values naming the field', () => {
    assert.equal(samplingParams({}).temperature, 0);
    assert.throws(() => samplingParams({ topP: 0 }), /top_p \(0\) must be in \(0, 1\]/);
    assert.throws(() => samplingParams({ temperature: -1 }), /temperature \(-1\)/);
    assert.throws(() => samplingParams({ maxTokens: 0 }), /max_tokens \(0\)/);
    assert.throws(() => samplingParams({ seed: 1.5 }), /seed \(1.5\)/);
    assert.throws(() => samplingParams({ stop: [''] }), /stop/);
  });
  it('a seeded rng repeats its stream and spreads over [0, 1)', () => {
    const a = new SamplingRng(42);
    const b = new SamplingRng(42);
    const xs = Array.from({ length: 1000 }, () => a.next());
    assert.deepEqual(
      xs,
      Array.from({ length: 1000 }, () => b.next()),
    );
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
    assert.notDeepEqual(
      xs.slice(0, 5),
      Array.from({ length: 5 }, () => new SamplingRng(43).next()),
    );
  });
});
