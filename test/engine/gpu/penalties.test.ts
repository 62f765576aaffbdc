import assert from 'node:assert/strict';
import { it } from 'node:test';
import { applyPenalties } from '../../../engine/gpu/kernels/penalties.ts';
import {
  applyPenalties as applyPenaltiesRef,
  penaltyEntries,
  type RowPenalties,
} from '../../../engine/reference/penalties.ts';
import { assertClose } from '../../helpers/close.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { Rng } from '../../helpers/random.ts';

it('penalties kernel matches its twin on 24 random batches', async () => {
  const gpu = await testGpu();
  const rng = new Rng(99);
  for (let trial = 0; trial < 24; trial++) {
    const B = rng.int(1, 5);
    const V = rng.pick([7, 100, 1000, 5003]);
    const logits = rng.normals(B * V, 3);
    const rows: RowPenalties[] = [];
    const entries = [];
    for (let r = 0; r < B; r++) {
      rows.push({
        repetition: rng.pick([1, 1.1, 1.5]),
        presence: rng.pick([0, 0.5, -0.3]),
        frequency: rng.pick([0, 0.2]),
      });
      const prompt = Array.from({ length: rng.int(0, 40) }, () => rng.int(0, V - 1));
      const output = Array.from({ length: rng.int(0, 40) }, () => rng.int(0, V - 1));
      entries.push(...penaltyEntries(r, prompt, output));
    }
    const tLogits = gpu.upload('f32', [B, V], logits, 'logits');
    const tEntries = gpu.upload(
      'u32',
      [entries.length, 3],
      entries.flatMap((e) => [e.row, e.token, e.outputCount]),
      'entries',
    );
    const tPen = gpu.upload(
      'f32',
      [B, 3],
      rows.flatMap((r) => [r.repetition, r.presence, r.frequency]),
      'pen',
    );
    const step = gpu.step('penalties');
    applyPenalties(step, { logits: tLogits, entries: tEntries, penalties: tPen });
    await step.submit();
    const expected = logits.slice();
    applyPenaltiesRef(expected, V, entries, rows);
    assertClose(await gpu.read(tLogits), expected, { rtol: 1e-6, atol: 1e-6 }, `trial ${trial} B=${B} V=${V}`);
    for (const t of [tLogits, tEntries, tPen]) t.buffer.destroy();
  }
});

it('penalties launcher rejects mismatched shapes', async () => {
  const gpu = await testGpu();
  const step = gpu.step('bad');
  const logits = gpu.createTensor('f32', [2, 10], 'logits');
  assert.throws(
    () =>
      applyPenalties(step, {
        logits,
        entries: gpu.createTensor('u32', [4, 2], 'e'),
        penalties: gpu.createTensor('f32', [2, 3], 'p'),
      }),
    /apply_penalties: entries must be u32\[n, 3\], got u32\[4, 2\]/,
  );
  assert.throws(
    () =>
      applyPenalties(step, {
        logits,
        entries: gpu.createTensor('u32', [4, 3], 'e'),
        penalties: gpu.createTensor('f32', [3, 3], 'p'),
      }),
    /apply_penalties: penalties must be f32\[2, 3\], got f32\[3, 3\]/,
  );
});
