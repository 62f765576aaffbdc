import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { roundToDType } from '../../../engine/gpu/dtype.ts';
import { KernelArgumentError } from '../../../engine/gpu/errors.ts';
import type { Gpu } from '../../../engine/gpu/gpu.ts';
import {
  type PagedAttentionArgs,
  pagedAttention,
  planPagedAttention,
  uploadPagedBatch,
  writePagedKv,
} from '../../../engine/gpu/kernels/paged-attention.ts';
import type { Tensor } from '../../../engine/gpu/tensor.ts';
import { type BatchSequence, type KvDType, slotMapping } from '../../../engine/kv/paged-layout.ts';
import { attention as contiguousRef } from '../../../engine/reference/attention.ts';
import {
  gatherSequence,
  pagedAttention as pagedAttentionRef,
  writePagedKv as writePagedKvRef,
} from '../../../engine/reference/paged-attention.ts';
import { assertClose } from '../../helpers/close.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { Rng } from '../../helpers/random.ts';

/**
 * f32 tolerance, as for the contiguous attention kernels: a D-long dot product, exp2 (a few ulp, growing with |logit|)
 * and sums over up to ~300 keys, against the twin's f64. The error of a weighted mean of V is ~1e-6 of max|v|; it is
 * bounded against max|out|, which averaging over many keys makes a few times smaller than max|v|, hence 2e-5.
 */
const TOL = { rtol: 2e-5, atol: 2e-6 };

/**
 * (head_dim, heads, kvHeads): head dims 64/80/128 x GQA groups 1/4/7. Few, because each (head_dim, group) is its own
 * pipeline and SwiftShader compiles slowly.
 */
const SHAPES: [number, number, number][] = [
  [64, 14, 2],
  [80, 4, 4],
  [128, 8, 2],
  [64, 7, 1],
  [128, 4, 4],
  [80, 16, 4],
];

type Kind = 'decode' | 'prefill' | 'mixed';

interface RandomBatch {
  host: BatchSequence[];
  numPages: number;
  T: number;
  what: string;
}

/**
 * B sequences with shuffled (non-contiguous) page ids, some spare pages, and sometimes a prefix of whole pages shared
 * with the previous sequence. Decode: one new token, kvLength around page boundaries or 1. Prefill: a chunk of 2..40
 * tokens starting at 0, mid-page (37) or on a page boundary. Queries are laid out in a random sequence order.
 */
function randomBatch(rng: Rng, kind: Kind, B: number, pageSize: number): RandomBatch {
  const shapes = Array.from({ length: B }, () => {
    const decode = kind === 'decode' || (kind === 'mixed' && rng.next() < 0.5);
    if (decode) {
      const kvLength = rng.pick([1, 2, pageSize - 1, pageSize, pageSize + 1, 37, 100, 230]);
      return { numQueries: 1, kvLength };
    }
    const numQueries = rng.pick([2, 3, 16, 17, 40]);
    const start = rng.pick([0, 37, pageSize, 5, 90]);
    return { numQueries, kvLength: start + numQueries };
  });
  const pagesOf = (kvLength: number) => Math.ceil(kvLength / pageSize);
  const needed = shapes.reduce((n, s) => n + pagesOf(s.kvLength), 0);
  const numPages = needed + rng.int(0, 5);
  const ids = Array.from({ length: numPages }, (_, i) => i);
  for (let i = ids.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [ids[i], ids[j]] = [ids[j], ids[i]];
  }
  let next = 0;
  const tables: number[][] = [];
  let shared = 0;
  shapes.forEach((s, b) => {
    const table: number[] = [];
    // Share the whole pages both sequences hold with the previous one (a prefix-cache hit).
    if (b > 0 && rng.next() < 0.3) {
      const whole = Math.floor(Math.min(s.kvLength - s.numQueries, shapes[b - 1].kvLength) / pageSize);
      table.push(...tables[b - 1].slice(0, whole));
      shared += whole;
    }
    while (table.length < pagesOf(s.kvLength)) table.push(ids[next++]);
    tables.push(table);
  });
  const order = shapes.map((_, b) => b);
  if (rng.next() < 0.5) order.reverse();
  const offsets: number[] = [];
  let T = 0;
  for (const b of order) {
    offsets[b] = T;
    T += shapes[b].numQueries;
  }
  const host = shapes.map((s, b) => ({ ...s, queryOffset: offsets[b], blockTable: tables[b] }));
  const lens = host.map((s) => (s.numQueries === 1 ? `${s.kvLength}` : `${s.kvLength - s.numQueries}+${s.numQueries}`));
  return { host, numPages, T, what: `B=${B} page=${pageSize} pages=${numPages} shared=${shared} seqs=[${lens}]` };
}

/** Pools whose every slot holds NaN except the positions some sequence has cached: any stray read shows in out. */
function randomPools(rng: Rng, batch: RandomBatch, pageSize: number, rowSize: number) {
  const k = new Float32Array(batch.numPages * pageSize * rowSize).fill(Number.NaN);
  const v = new Float32Array(k.length).fill(Number.NaN);
  for (const s of batch.host) {
    for (let pos = 0; pos < s.kvLength; pos++) {
      const row = s.blockTable[Math.floor(pos / pageSize)] * pageSize + (pos % pageSize);
      if (!Number.isNaN(k[row * rowSize])) continue; // a shared page: keep what the other sequence holds
      k.set(rng.normals(rowSize), row * rowSize);
      v.set(rng.normals(rowSize), row * rowSize);
    }
  }
  return { k, v };
}

function destroy(...tensors: Tensor[]): void {
  for (const t of tensors) t.buffer.destroy();
}

interface PoolOptions {
  /** Pool dtype: f16 pools hold the values rounded to f16, which the twin is given as its f32 pools. */
  dtype?: KvDType;
  /** Sliding window (0: none). */
  window?: number;
}

/** Run one random batch through the kernels and the twin. */
async function checkBatch(
  gpu: Gpu,
  rng: Rng,
  kind: Kind,
  trial: number,
  seed: number,
  o: PoolOptions = {},
): Promise<void> {
  const dtype = o.dtype ?? 'f32';
  const window = o.window ?? 0;
  // The last mixed batch: D=256 with 7 query heads per kv head, two head blocks in the decode kernel.
  const [D, heads, kvHeads] = kind === 'mixed' && trial === 19 ? [256, 7, 1] : SHAPES[trial % SHAPES.length];
  // Mixed batches also take pages smaller than a key tile (8) and larger than a split (128).
  const pageSize = rng.pick(kind === 'mixed' ? [8, 16, 32, 64, 128] : [16, 32, 64]);
  const B = kind === 'mixed' ? rng.pick([2, 5, 16]) : rng.pick([1, 3, 8, 16]);
  const batch = randomBatch(rng, kind, B, pageSize);
  const rowSize = kvHeads * D;
  const raw = randomPools(rng, batch, pageSize, rowSize);
  const pools = { k: roundToDType(raw.k, dtype), v: roundToDType(raw.v, dtype) };
  const q = rng.normals(batch.T * heads * D, rng.pick([0.5, 1, 3])); // sharper softmaxes on some trials
  const scale = trial % 4 === 1 ? 0.3 : undefined;
  const tilesPerSplit = rng.pick([undefined, undefined, 1, 3]);
  const layer = {
    k: gpu.upload(dtype, [batch.numPages, pageSize, kvHeads, D], pools.k, 'k pool'),
    v: gpu.upload(dtype, [batch.numPages, pageSize, kvHeads, D], pools.v, 'v pool'),
  };
  const tq = gpu.upload('f32', [batch.T, heads, D], q, 'q');
  const out = gpu.createTensor('f32', [batch.T, heads, D], 'out');
  const step = gpu.step(`paged attention ${kind} test`);
  pagedAttention(step, {
    q: tq,
    layer,
    batch: { ...uploadPagedBatch(step, batch.host, pageSize), window },
    out,
    scale,
    tilesPerSplit,
  });
  await step.submit();
  const ref = pagedAttentionRef(q, pools.k, pools.v, batch.host, { heads, kvHeads, D, pageSize, scale, window });
  const what =
    `seed ${seed} ${kind} trial ${trial} ${dtype} window ${window}: heads=${heads}:${kvHeads} D=${D} ` +
    `split=${tilesPerSplit} ${batch.what}`;
  assertClose(await gpu.read(out), ref, TOL, what);
  destroy(layer.k, layer.v, tq, out);
}

describe('paged attention kernels match their twin', () => {
  for (const [kind, seed] of [
    ['decode', 101],
    ['prefill', 202],
    ['mixed', 303],
  ] as const) {
    const pages = kind === 'mixed' ? '8-128, one D=256' : '16/32/64';
    it(`on 20 random ${kind} batches: D 64/80/128, GQA 1/4/7, pages ${pages}, shuffled and shared pages`, async () => {
      const gpu = await testGpu();
      const rng = new Rng(seed);
      for (let trial = 0; trial < 20; trial++) await checkBatch(gpu, rng, kind, trial, seed);
    });
  }

  // f16 pools: the kernels read what the f16 pool holds (the twin is given the same rounded values), so the bound is
  // the f32 one. Windows of 1 (only itself), 7 (inside a key tile), 40 and 100 (across tiles, pages and splits).
  for (const [kind, seed] of [
    ['decode', 111],
    ['prefill', 222],
    ['mixed', 333],
  ] as const) {
    it(`on 8 random ${kind} batches with f16 pools and sliding windows of 1, 7, 40, 100 or none`, async () => {
      const gpu = await testGpu();
      const rng = new Rng(seed);
      for (let trial = 0; trial < 8; trial++) {
        const window = [1, 7, 40, 100, 0][trial % 5];
        await checkBatch(gpu, rng, kind, trial, seed, { dtype: trial % 4 === 3 ? 'f32' : 'f16', window });
      }
    });
  }

  it('runs every layer of a step on the same batch: work lists and partials shared, each layer right', async () => {
    const gpu = await testGpu();
    const rng = new Rng(404);
    const [D, heads, kvHeads, pageSize] = [64, 14, 2, 16];
    const batch = randomBatch(rng, 'mixed', 6, pageSize);
    const step = gpu.step('two layers');
    const paged = uploadPagedBatch(step, batch.host, pageSize);
    const runs = [0, 1].map(() => {
      const pools = randomPools(rng, batch, pageSize, kvHeads * D);
      const q = rng.normals(batch.T * heads * D);
      const layer = {
        k: gpu.upload('f32', [batch.numPages, pageSize, kvHeads, D], pools.k, 'k pool'),
        v: gpu.upload('f32', [batch.numPages, pageSize, kvHeads, D], pools.v, 'v pool'),
      };
      const tq = gpu.upload('f32', [batch.T, heads, D], q, 'q');
      const out = gpu.createTensor('f32', [batch.T, heads, D], 'out');
      pagedAttention(step, { q: tq, layer, batch: paged, out, tilesPerSplit: 1 });
      return { pools, q, layer, tq, out };
    });
    assert.equal(step.dispatchCount, 6); // decode, merge and prefill per layer
    await step.submit();
    for (const [i, r] of runs.entries()) {
      const ref = pagedAttentionRef(r.q, r.pools.k, r.pools.v, batch.host, { heads, kvHeads, D, pageSize });
      assertClose(await gpu.read(r.out), ref, TOL, `layer ${i}: ${batch.what}`);
      destroy(r.layer.k, r.layer.v, r.tq, r.out);
    }
  });

  it('agrees with the contiguous twin on one sequence, K/V written through writePagedKv', async () => {
    const gpu = await testGpu();
    const rng = new Rng(55);
    const [D, heads, kvHeads, pageSize] = [64, 14, 2, 16];
    const rowSize = kvHeads * D;
    for (const [queryStart, T] of [
      [37, 20],
      [99, 1],
    ]) {
      const kvLength = queryStart + T;
      const k = rng.normals(kvLength * rowSize);
      const v = rng.normals(kvLength * rowSize);
      const q = rng.normals(T * heads * D);
      const table = [5, 0, 7, 2, 6, 3, 1, 4].slice(0, Math.ceil(kvLength / pageSize));
      const host: BatchSequence[] = [{ queryOffset: 0, numQueries: kvLength, kvLength, blockTable: table }];
      const layer = {
        k: gpu.createTensor('f32', [8, pageSize, kvHeads, D], 'k pool'),
        v: gpu.createTensor('f32', [8, pageSize, kvHeads, D], 'v pool'),
      };
      const tk = gpu.upload('f32', [kvLength, kvHeads, D], k, 'k');
      const tv = gpu.upload('f32', [kvLength, kvHeads, D], v, 'v');
      const slots = gpu.upload('u32', [kvLength], slotMapping(host, pageSize), 'slots');
      const tq = gpu.upload('f32', [T, heads, D], q, 'q');
      const out = gpu.createTensor('f32', [T, heads, D], 'out');
      const step = gpu.step('paged vs contiguous');
      writePagedKv(step, { k: tk, v: tv, slotMapping: slots, layer });
      const chunk = [{ queryOffset: 0, numQueries: T, kvLength, blockTable: table }];
      pagedAttention(step, { q: tq, layer, batch: uploadPagedBatch(step, chunk, pageSize), out });
      await step.submit();
      const ref = contiguousRef(q, k, v, { T, heads, kvHeads, D, queryStart, kvLength });
      assertClose(await gpu.read(out), ref, TOL, `queryStart=${queryStart} T=${T}`);
      destroy(layer.k, layer.v, tk, tv, slots, tq, out);
    }
  });
});

describe('paged KV write', () => {
  it('stores f16 pools rounded to nearest even, as the twin does, and leaves every other slot alone', async () => {
    const gpu = await testGpu();
    const rng = new Rng(19);
    for (let trial = 0; trial < 4; trial++) {
      const [D, , kvHeads] = SHAPES[trial % SHAPES.length];
      const pageSize = rng.pick([8, 16, 64]);
      const batch = randomBatch(rng, 'mixed', rng.pick([1, 4, 9]), pageSize);
      const slots = slotMapping(
        [...batch.host].sort((x, y) => x.queryOffset - y.queryOffset),
        pageSize,
      );
      const rowSize = kvHeads * D;
      const poolK = roundToDType(rng.normals(batch.numPages * pageSize * rowSize), 'f16');
      const poolV = roundToDType(rng.normals(poolK.length), 'f16');
      // Values of every magnitude f16 holds (subnormals down to ~1e-7), not only ~N(0, 1), and past its range (V):
      // those saturate to +-65504.
      const k = rng.normals(batch.T * rowSize).map((x, i) => x * 10 ** ((i % 9) - 5));
      const v = rng.normals(batch.T * rowSize, 100).map((x, i) => (i % 97 === 0 ? x * 1e4 : x));
      const layer = {
        k: gpu.upload('f16', [batch.numPages, pageSize, kvHeads, D], poolK, 'k pool'),
        v: gpu.upload('f16', [batch.numPages, pageSize, kvHeads, D], poolV, 'v pool'),
      };
      const tk = gpu.upload('f32', [batch.T, kvHeads, D], k, 'k');
      const tv = gpu.upload('f32', [batch.T, kvHeads, D], v, 'v');
      const ts = gpu.upload('u32', [batch.T], slots, 'slots');
      const step = gpu.step('paged kv write f16 test');
      writePagedKv(step, { k: tk, v: tv, slotMapping: ts, layer });
      await step.submit();
      writePagedKvRef(poolK, poolV, k, v, slots, rowSize, 'f16');
      const what = `seed 19 trial ${trial}: kvHeads=${kvHeads} D=${D} ${batch.what}`;
      // Bit for bit, but for values below the smallest f16 subnormal (2^-24), which pack2x16float may flush to 0.
      const tiny = (x: Float32Array, ref: Float32Array) =>
        x.map((value, i) => (Math.abs(value - ref[i]) <= 2 ** -24 && Math.abs(ref[i]) <= 2 ** -24 ? ref[i] : value));
      assert.deepEqual(tiny(await gpu.read(layer.k), poolK), poolK, `${what}: k pool`);
      assert.deepEqual(tiny(await gpu.read(layer.v), poolV), poolV, `${what}: v pool`);
      assert.ok(poolV.includes(65504) || poolV.includes(-65504), 'some V saturated');
      destroy(layer.k, layer.v, tk, tv, ts);
    }
  });

  it('scatters 8 random batches of rows into their slots and leaves every other slot alone', async () => {
    const gpu = await testGpu();
    const rng = new Rng(9);
    for (let trial = 0; trial < 8; trial++) {
      const [D, , kvHeads] = SHAPES[trial % SHAPES.length];
      const pageSize = rng.pick([8, 16, 64]);
      const batch = randomBatch(rng, 'mixed', rng.pick([1, 4, 9]), pageSize);
      // slotMapping lists the sequences' tokens in host order, so hand it the sequences in q-row order.
      const slots = slotMapping(
        [...batch.host].sort((x, y) => x.queryOffset - y.queryOffset),
        pageSize,
      );
      const rowSize = kvHeads * D;
      const poolK = rng.normals(batch.numPages * pageSize * rowSize);
      const poolV = rng.normals(poolK.length);
      const k = rng.normals(batch.T * rowSize);
      const v = rng.normals(batch.T * rowSize);
      const layer = {
        k: gpu.upload('f32', [batch.numPages, pageSize, kvHeads, D], poolK, 'k pool'),
        v: gpu.upload('f32', [batch.numPages, pageSize, kvHeads, D], poolV, 'v pool'),
      };
      const tk = gpu.upload('f32', [batch.T, kvHeads, D], k, 'k');
      const tv = gpu.upload('f32', [batch.T, kvHeads, D], v, 'v');
      const ts = gpu.upload('u32', [batch.T], slots, 'slots');
      const step = gpu.step('paged kv write test');
      writePagedKv(step, { k: tk, v: tv, slotMapping: ts, layer });
      await step.submit();
      writePagedKvRef(poolK, poolV, k, v, slots, rowSize);
      const what = `seed 9 trial ${trial}: kvHeads=${kvHeads} D=${D} ${batch.what}`;
      assert.deepEqual(await gpu.read(layer.k), poolK, `${what}: k pool`);
      assert.deepEqual(await gpu.read(layer.v), poolV, `${what}: v pool`);
      // And the twin's gather reads back what was written, position by position.
      const s = batch.host[0];
      const first = s.kvLength - s.numQueries;
      const gathered = gatherSequence(poolK, s, pageSize, rowSize).subarray(first * rowSize);
      assert.deepEqual(gathered, k.subarray(s.queryOffset * rowSize, (s.queryOffset + s.numQueries) * rowSize));
      destroy(layer.k, layer.v, tk, tv, ts);
    }
  });
});

describe('paged attention work lists', () => {
  const shape = { heads: 32, kvHeads: 8, headDim: 128 };
  const seq = (numQueries: number, kvLength: number, queryOffset = 0): BatchSequence => ({
    queryOffset,
    numQueries,
    kvLength,
    blockTable: Array.from({ length: Math.ceil(kvLength / 64) }, (_, i) => i),
  });

  it('split each decoding sequence into whole tiles, evened out, none empty, merged in order', () => {
    const seqs = [seq(1, 4096, 0), seq(40, 100, 1), seq(1, 1, 41), seq(1, 700, 42)];
    for (const tilesPerSplit of [undefined, 1, 3, 7, 1000]) {
      const { decode } = planPagedAttention(seqs, shape, 32768, { tilesPerSplit });
      const items = Array.from({ length: decode.items.length / 4 }, (_, i) => [
        ...decode.items.subarray(i * 4, i * 4 + 4),
      ]);
      const merges = Array.from({ length: decode.merges.length / 4 }, (_, i) => [
        ...decode.merges.subarray(i * 4, i * 4 + 4),
      ]);
      assert.deepEqual(
        merges.map((m) => m[0]),
        [0, 2, 3],
      );
      for (const [b, first, count] of merges) {
        let covered = 0;
        for (const [sb, kvStart, kvCount] of items.slice(first, first + count)) {
          assert.equal(sb, b);
          assert.equal(kvStart, covered);
          assert.ok(kvCount > 0 && kvStart % decode.tile === 0);
          assert.ok(kvCount <= decode.tilesPerSplit * decode.tile);
          covered += kvCount;
        }
        assert.equal(covered, seqs[b].kvLength, `tilesPerSplit ${tilesPerSplit}: sequence ${b}`);
      }
      if (tilesPerSplit !== undefined) assert.ok(decode.tilesPerSplit <= tilesPerSplit);
    }
    // Default: ~256 split workgroups over 8 kv heads for 128 + 1 + 22 tiles, >= 2 tiles each.
    const plan = planPagedAttention(seqs, shape, 32768).decode;
    assert.equal(plan.tile, 32);
    assert.equal(plan.tilesPerSplit, 5);
    assert.equal(plan.items.length / 4, 26 + 1 + 5);
  });

  it('under a sliding window, start each decoding sequence at its window, whole tiles from there', () => {
    const seqs = [seq(1, 4096, 0), seq(40, 100, 1), seq(1, 20, 41), seq(1, 700, 42)];
    for (const window of [1, 33, 500]) {
      const { decode } = planPagedAttention(seqs, shape, 32768, { window, tilesPerSplit: 2 });
      for (let m = 0; m < decode.merges.length / 4; m++) {
        const [b, first, count] = decode.merges.subarray(m * 4, m * 4 + 3);
        let covered = Math.max(0, seqs[b].kvLength - window);
        for (let i = first; i < first + count; i++) {
          const [sb, kvStart, kvCount] = decode.items.subarray(i * 4, i * 4 + 3);
          assert.equal(sb, b);
          assert.equal(kvStart, covered, `window ${window}: sequence ${b}`);
          assert.ok(kvCount > 0 && kvCount <= 2 * decode.tile);
          covered += kvCount;
        }
        assert.equal(covered, seqs[b].kvLength, `window ${window}: sequence ${b} ends at its last key`);
      }
    }
  });

  it('tiles every prefill row once, the tiles that see the most keys first', () => {
    const seqs = [seq(1, 10, 0), seq(20, 57, 1), seq(3, 3, 21)];
    const { prefill } = planPagedAttention(seqs, shape, 32768);
    assert.equal(prefill.rowsPerTile, 16); // D=128
    const items = Array.from({ length: prefill.items.length / 4 }, (_, i) => [
      ...prefill.items.subarray(i * 4, i * 4 + 2),
    ]);
    // 20 tokens x 4 heads = 80 rows = 5 tiles; 3 x 4 = 12 rows = 1 tile.
    assert.deepEqual(items, [
      [1, 64],
      [1, 48],
      [1, 32],
      [1, 16],
      [1, 0],
      [2, 0],
    ]);
  });
});

describe('paged attention launchers reject bad arguments', () => {
  it('naming the kernel, what was expected and what was given', async () => {
    const gpu = await testGpu();
    const f32 = (shape: number[]) => gpu.createTensor('f32', shape, 'x');
    const layer = { k: f32([4, 16, 2, 64]), v: f32([4, 16, 2, 64]) };
    const step = gpu.step('bad');
    const host: BatchSequence[] = [
      { queryOffset: 0, numQueries: 1, kvLength: 20, blockTable: [3, 1] },
      { queryOffset: 1, numQueries: 3, kvLength: 40, blockTable: [0, 2, 1] },
    ];
    const batch = uploadPagedBatch(step, host, 16);
    const rejects = (fn: () => void, message: RegExp) =>
      assert.throws(fn, (e: Error) => e instanceof KernelArgumentError && message.test(e.message));
    const attend = (over: Partial<PagedAttentionArgs>) => () =>
      pagedAttention(step, { q: f32([4, 8, 64]), layer, batch, out: f32([4, 8, 64]), ...over });
    const withHost = (changed: BatchSequence[]) => ({ ...batch, host: changed });

    rejects(
      attend({ batch: withHost([host[0], { ...host[1], kvLength: 49 }]) }),
      /^paged_attention: sequence 1 .*kvLength 49\): block table of 3 pages of 16 is too short for kvLength$/,
    );
    rejects(
      attend({ q: f32([5, 8, 64]), out: f32([5, 8, 64]) }),
      /^paged_attention: the sequences' numQueries sum to 4, but q has T = 5 rows$/,
    );
    rejects(
      attend({ batch: withHost([host[0], { ...host[1], queryOffset: 0 }]) }),
      /^paged_attention: sequence 1 .*: q row 0 belongs to two sequences$/,
    );
    rejects(
      attend({ batch: withHost([host[0], { ...host[1], blockTable: [0, 2, 4] }]) }),
      /^paged_attention: sequence 1 .*: page 4 is not in \[0, 4\)$/,
    );
    rejects(
      attend({ q: gpu.createTensor('f16', [4, 8, 64], 'qh') }),
      /^paged_attention: q must be f32\[T, heads, D\], got f16\[4, 8, 64\]$/,
    );
    rejects(
      attend({ batch: { ...batch, seqs: gpu.createTensor('i32', [2, 4], 'seqs') } }),
      /^paged_attention: batch.seqs must be u32\[2, 4\], got i32\[2, 4\]$/,
    );
    rejects(
      attend({ layer: { k: layer.k, v: f32([4, 16, 2, 32]) } }),
      /^paged_attention: layer.v must be f32\[4, 16, 2, 64\], got f32\[4, 16, 2, 32\]$/,
    );
    rejects(
      attend({ layer: { k: layer.k, v: gpu.createTensor('f16', [4, 16, 2, 64], 'vh') } }),
      /^paged_attention: layer.v must be f32\[4, 16, 2, 64\], got f16\[4, 16, 2, 64\]$/,
    );
    rejects(attend({ batch: { ...batch, window: -1 } }), /^paged_attention: batch.window must be an integer >= 0/);
    rejects(attend({ batch: { ...batch, pageSize: 32 } }), /batch.pageSize \(32\) != pool page size \(16\)/);
    rejects(
      attend({ q: f32([4, 6, 64]), out: f32([4, 6, 64]), layer: { k: f32([4, 16, 4, 64]), v: f32([4, 16, 4, 64]) } }),
      /^paged_attention: heads \(6\) must be a multiple of kvHeads \(4\)$/,
    );
    rejects(attend({ out: layer.k }), /^paged_attention: out must be f32\[4, 8, 64\], got f32\[4, 16, 2, 64\]$/);
    rejects(attend({ tilesPerSplit: 0 }), /tilesPerSplit must be a positive integer, got 0/);

    const write = (over: Partial<Parameters<typeof writePagedKv>[1]>) => () =>
      writePagedKv(step, {
        k: f32([3, 2, 64]),
        v: f32([3, 2, 64]),
        slotMapping: gpu.createTensor('u32', [3], 'slots'),
        layer,
        ...over,
      });
    rejects(
      write({ slotMapping: gpu.createTensor('i32', [3], 'slots') }),
      /^paged_kv_write: slotMapping must be u32\[3\], got i32\[3\]$/,
    );
    rejects(write({ v: f32([2, 2, 64]) }), /^paged_kv_write: v must be f32\[3, 2, 64\], got f32\[2, 2, 64\]$/);
    rejects(write({ k: f32([3, 4, 64]) }), /^paged_kv_write: k must be f32\[T, 2, 64\], got f32\[3, 4, 64\]$/);
    rejects(
      write({ layer: { k: f32([4, 12, 2, 64]), v: f32([4, 12, 2, 64]) } }),
      /^paged_kv_write: page size must be a power of two, got 12$/,
    );
    rejects(write({ layer: { k: layer.k, v: layer.k } }), /^paged_kv_write: layer.v and layer.k share a buffer/);
    assert.equal(step.dispatchCount, 0);
  });
});
