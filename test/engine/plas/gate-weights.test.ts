import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { writeSafetensors } from '../../../engine/model/safetensors.ts';
import {
  describeGate,
  GATE_WEIGHT_FILE,
  gateBlockSize,
  loadPlasGateWeights,
  writeGateWeights,
} from '../../../engine/plas/gate-weights.ts';

const shape = { numLayers: 4, kvHeads: 2, headDim: 8, blockSize: 16 };
const n = 2 * 16 * 8;

async function withFolder(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'plas-gate-'));
  try {
    await f(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('PLAS gate weights', () => {
  it('absent file: mean pooling on every layer', async () => {
    await withFolder(async (dir) => {
      const g = await loadPlasGateWeights(dir, shape);
      assert.equal(g.file, null);
      assert.deepEqual(g.layers, [null, null, null, null]);
      assert.match(describeGate(g), /mean pooling on all 4 layers/);
    });
  });

  it('loads the layers present (model or ernie prefix, bf16 included); reports which have a learned gate', async () => {
    await withFolder(async (dir) => {
      const data = Float32Array.from({ length: n }, (_, i) => i / 8);
      await writeSafetensors(join(dir, GATE_WEIGHT_FILE), [
        { name: 'model.layers.0.self_attn.attn_gate.weight', dtype: 'f32', shape: [2, 16, 8], data },
        { name: 'ernie.layers.1.self_attn.attn_gate.weight', dtype: 'bf16', shape: [2, 16, 8], data },
        { name: 'model.layers.3.self_attn.attn_gate.weight', dtype: 'f16', shape: [2, 16, 8], data },
        { name: 'something.else', dtype: 'f32', shape: [1], data: new Float32Array(1) },
      ]);
      const g = await loadPlasGateWeights(dir, shape);
      assert.deepEqual(g.layers[0], data);
      assert.deepEqual(g.layers[1], data, 'these values are exact in bf16');
      assert.equal(g.layers[2], null);
      assert.equal(describeGate(g), 'learned gate on layers 0-1, 3; mean pooling on 2');
    });
  });

  it('reads the key-bound form beside the sum form; a new sum gate keeps it', async () => {
    await withFolder(async (dir) => {
      const file = join(dir, GATE_WEIGHT_FILE);
      const bound = (layer: number) => Float32Array.from({ length: 2 * 4 * 8 }, (_, i) => layer + i / 64);
      const sum = Float32Array.from({ length: n }, (_, i) => i / 4);
      await writeSafetensors(file, [
        { name: 'model.layers.0.self_attn.attn_gate.weight', dtype: 'f32', shape: [2, 16, 8], data: sum },
        ...[0, 1, 2, 3].map((layer) => ({
          name: `model.layers.${layer}.self_attn.attn_gate.bound_weight`,
          dtype: 'f32' as const,
          shape: [2, 4, 8],
          data: bound(layer),
        })),
      ]);
      const g = await loadPlasGateWeights(dir, shape);
      assert.deepEqual(g.layers[0], sum);
      assert.equal(g.layers[1], null);
      assert.deepEqual(g.boundLayers, [0, 1, 2, 3].map(bound));
      assert.equal(describeGate(g), 'learned gate on layers 0; mean pooling on 1-3; key-bound gate on layers 0-3');
      assert.equal(await gateBlockSize(dir), 16, 'the sum form gives the block size');

      // `plas gate train` writes a new sum gate: the key-bound form stays.
      const trained = [1, 2, 3, 4].map((v) => new Float32Array(n).fill(v));
      await writeGateWeights(file, trained, shape);
      const after = await loadPlasGateWeights(dir, shape);
      assert.deepEqual(after.layers, trained);
      assert.deepEqual(after.boundLayers, [0, 1, 2, 3].map(bound));
    });
    await withFolder(async (dir) => {
      await writeSafetensors(join(dir, GATE_WEIGHT_FILE), [
        {
          name: 'model.layers.2.self_attn.attn_gate.bound_weight',
          dtype: 'f32',
          shape: [2, 4, 8],
          data: new Float32Array(64),
        },
      ]);
      const g = await loadPlasGateWeights(dir, shape);
      assert.equal(describeGate(g), 'mean pooling on layers 0-3; key-bound gate on layers 2');
      assert.equal(await gateBlockSize(dir), null, 'a key-bound gate has no block size');
    });
  });

  it('a wrong shape, an out-of-range layer or a file without gates fail with what was expected', async () => {
    const cases: [string, number[], RegExp][] = [
      [
        'model.layers.0.self_attn.attn_gate.weight',
        [2, 32, 8],
        /has shape \[2, 32, 8\], expected \[2, 16, 8\] \[num_kv_heads, plas_block_size, head_dim\]/,
      ],
      ['model.layers.9.self_attn.attn_gate.weight', [2, 16, 8], /layer 9 is out of range \(the model has 4 layers\)/],
      ['model.layers.0.mlp.weight', [2, 16, 8], /holds no PLAS gate weights/],
      [
        'model.layers.1.self_attn.attn_gate.bound_weight',
        [2, 16, 8],
        /bound_weight has shape \[2, 16, 8\], expected \[2, 4, 8\] \[num_kv_heads, 4, head_dim\]: the gate was trained for another model$/,
      ],
    ];
    for (const [name, dims, message] of cases) {
      await withFolder(async (dir) => {
        const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
        await writeSafetensors(join(dir, GATE_WEIGHT_FILE), [{ name, dtype: 'f32', shape: dims, data }]);
        await assert.rejects(loadPlasGateWeights(dir, shape), message);
      });
    }
  });
});
