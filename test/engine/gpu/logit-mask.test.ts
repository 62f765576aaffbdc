import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Gpu } from '../../../engine/gpu/gpu.ts';
import { applyLogitMask, NO_MASK } from '../../../engine/gpu/kernels/logit-mask.ts';
import type { Tensor } from '../../../engine/gpu/tensor.ts';
import { applyLogitMask as applyLogitMaskRef, type LogitBiasEntry } from '../../../engine/reference/logit-mask.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { Rng } from '../../helpers/random.ts';

type MaskKind = 'random' | 'all' | 'one' | 'none' | 'sparse';

/** A mask of `vocab` tokens: every token, exactly one, none, about half, or about 1%. */
function makeMask(rng: Rng, vocab: number, kind: MaskKind): Uint32Array {
  const mask = new Uint32Array(Math.ceil(vocab / 32));
  const allow = (t: number) => {
    mask[t >>> 5] |= 1 << (t & 31);
  };
  for (let t = 0; t < vocab; t++) {
    if (kind === 'all' || (kind === 'random' && rng.next() < 0.5) || (kind === 'sparse' && rng.next() < 0.01)) allow(t);
  }
  if (kind === 'one') allow(rng.int(0, vocab - 1));
  // Bits past the vocabulary are left set in some masks: the kernel must never read them as tokens.
  if (kind === 'all' && vocab % 32 !== 0) mask[mask.length - 1] = 0xffffffff;
  return mask;
}

interface Case {
  B: number;
  V: number;
  masks: Uint32Array[];
  maskRows: Uint32Array;
  bias: LogitBiasEntry[];
}

function randomCase(rng: Rng, B: number, V: number, withMasks: boolean, withBias: boolean): Case {
  const kinds: MaskKind[] = ['random', 'all', 'one', 'none', 'sparse'];
  const masks = withMasks ? Array.from({ length: rng.int(1, 3) }, () => makeMask(rng, V, rng.pick(kinds))) : [];
  // Rows: no mask, one of the masks, or an index past them (counts as no mask).
  const maskRows = Uint32Array.from({ length: B }, () => {
    const r = rng.next();
    if (!withMasks || r < 0.25) return NO_MASK;
    return r < 0.3 ? masks.length + 2 : rng.int(0, masks.length - 1);
  });
  const bias: LogitBiasEntry[] = [];
  if (withBias) {
    const seen = new Set<string>();
    for (let k = rng.int(1, 60); k > 0; k--) {
      // Mostly valid (row, token) pairs, a few out of range, which the kernel skips.
      const row = rng.next() < 0.05 ? B + rng.int(0, 3) : rng.int(0, B - 1);
      const token = rng.next() < 0.05 ? V + rng.int(0, 40) : rng.int(0, V - 1);
      if (seen.has(`${row},${token}`)) continue;
      seen.add(`${row},${token}`);
      bias.push({ row, token, bias: rng.pick([-100, 100, 0, Math.fround(rng.normal() * 10)]) });
    }
  }
  return { B, V, masks, maskRows, bias };
}

async function runKernel(gpu: Gpu, c: Case, logits: Float32Array): Promise<Float32Array> {
  const tensors: Tensor[] = [];
  const up = (dtype: 'f32' | 'u32', shape: number[], values: ArrayLike<number>, label: string) => {
    const t = gpu.upload(dtype, shape, values, label);
    tensors.push(t);
    return t;
  };
  const W = Math.ceil(c.V / 32);
  const tLogits = up('f32', [c.B, c.V], logits, 'logits');
  const masked =
    c.masks.length > 0
      ? {
          masks: up('u32', [c.masks.length, W], concat(c.masks), 'masks'),
          maskRows: up('u32', [c.B], c.maskRows, 'mask rows'),
        }
      : {};
  const f = new Float32Array(1);
  const bits = new Uint32Array(f.buffer);
  const packed = c.bias.flatMap((e) => {
    f[0] = e.bias;
    return [e.row, e.token, bits[0]];
  });
  const biased = c.bias.length > 0 ? { bias: up('u32', [c.bias.length, 3], packed, 'bias') } : {};
  const step = gpu.step('logit mask');
  applyLogitMask(step, { logits: tLogits, ...masked, ...biased });
  await step.submit();
  const out = await gpu.read(tLogits);
  for (const t of tensors) t.buffer.destroy();
  return out;
}

function concat(parts: Uint32Array[]): Uint32Array {
  const out = new Uint32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Masking and adding bias are exact in f32: the kernel must match its twin bit for bit (-inf included). */
function assertSame(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++)
    if (!Object.is(actual[i], expected[i]))
      assert.fail(`${what}: element ${i} is ${actual[i]}, the twin says ${expected[i]}`);
}

function expected(c: Case, logits: Float32Array): Float32Array {
  const out = logits.slice();
  applyLogitMaskRef(
    out,
    c.V,
    c.masks.length > 0 ? c.maskRows : null,
    c.masks.length > 0 ? concat(c.masks) : null,
    c.bias,
  );
  return out;
}

it('logit mask kernel matches its twin on 30 random batches (masks, bias, both; V not a multiple of 32)', async () => {
  const gpu = await testGpu();
  const rng = new Rng(4242);
  for (let trial = 0; trial < 30; trial++) {
    const V = rng.pick([1, 31, 32, 33, 100, 257, 1000, 5003]);
    const B = rng.int(1, 6);
    const parts = trial % 3;
    const c = randomCase(rng, B, V, parts !== 1, parts !== 0);
    const logits = rng.normals(B * V, 3);
    assertSame(await runKernel(gpu, c, logits), expected(c, logits), `trial ${trial} B=${B} V=${V}`);
  }
});

it('logit mask: a masked token stays -inf whatever its bias; all-masked-but-one leaves one finite logit', async () => {
  const gpu = await testGpu();
  const V = 77;
  const only = 40;
  const mask = new Uint32Array(3);
  mask[only >>> 5] = 1 << (only & 31);
  const c: Case = {
    B: 2,
    V,
    masks: [mask],
    maskRows: Uint32Array.from([0, NO_MASK]),
    bias: [
      { row: 0, token: 3, bias: 100 },
      { row: 0, token: only, bias: -2.5 },
      { row: 1, token: 3, bias: 100 },
    ],
  };
  const logits = Float32Array.from({ length: 2 * V }, (_, i) => i / 10);
  const out = await runKernel(gpu, c, logits);
  assertSame(out, expected(c, logits), 'fixed case');
  const row0 = [...out.subarray(0, V)];
  assert.deepEqual(
    row0.flatMap((x, t) => (Number.isFinite(x) ? [t] : [])),
    [only],
  );
  assert.equal(out[only], Math.fround(logits[only] - 2.5));
  assert.equal(out[V + 3], Math.fround(logits[V + 3] + 100), 'row 1 has no mask: its bias applies');
});

it('logit mask: Qwen3-sized rows (8 x 151,936 tokens)', async () => {
  const gpu = await testGpu();
  const rng = new Rng(7);
  const B = 8;
  const V = 151_936;
  const c = randomCase(rng, B, V, true, true);
  const logits = rng.normals(B * V, 2);
  assertSame(await runKernel(gpu, c, logits), expected(c, logits), 'qwen3 sized');
});

it('logit mask: a batch past 65,535 workgroups folds its grid into 2-D (70,000 rows)', async () => {
  const gpu = await testGpu();
  const rng = new Rng(8);
  const B = 70_000;
  const V = 33;
  const masks = [makeMask(rng, V, 'random'), makeMask(rng, V, 'one')];
  const maskRows = Uint32Array.from({ length: B }, (_, i) => (i % 5 === 0 ? NO_MASK : i % 2));
  const bias = Array.from({ length: 500 }, (_, k) => ({ row: B - 1 - k * 7, token: k % V, bias: 1.5 }));
  const c: Case = { B, V, masks, maskRows, bias };
  const logits = rng.normals(B * V, 2);
  assertSame(await runKernel(gpu, c, logits), expected(c, logits), 'folded grid');
});

it('logit mask launcher rejects mismatched shapes and records nothing without work', async () => {
  const gpu = await testGpu();
  const step = gpu.step('bad');
  const logits = gpu.createTensor('f32', [2, 70], 'logits');
  assert.throws(
    () =>
      applyLogitMask(step, {
        logits,
        masks: gpu.createTensor('u32', [1, 2], 'm'),
        maskRows: gpu.createTensor('u32', [2], 'r'),
      }),
    /logit_mask: masks must be u32\[M, 3\], got u32\[1, 2\]/,
  );
  assert.throws(
    () =>
      applyLogitMask(step, {
        logits,
        masks: gpu.createTensor('u32', [1, 3], 'm'),
        maskRows: gpu.createTensor('u32', [3], 'r'),
      }),
    /logit_mask: maskRows must be u32\[2\], got u32\[3\]/,
  );
  assert.throws(
    () => applyLogitMask(step, { logits, masks: gpu.createTensor('u32', [1, 3], 'm') }),
    /masks and maskRows go together/,
  );
  assert.throws(
    () => applyLogitMask(step, { logits, bias: gpu.createTensor('f32', [4, 3], 'b') }),
    /logit_mask: bias must be u32\[E, 3\], got f32\[4, 3\]/,
  );
  applyLogitMask(step, { logits });
  applyLogitMask(step, { logits, bias: gpu.createTensor('u32', [0, 3], 'empty') });
  await step.submit();
});
