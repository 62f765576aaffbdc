/**
 * Token windows for tools/train/distil_gate.py, and the fixture that holds it to the engine's objective.
 *
 *   npx tsx tools/train/gate_windows.ts windows --out FILE [--model DIR] [--tokens 65536] [--length 2048]
 *       the windows `plas gate train` distils on (main/cli/gate/windows.ts: the gate text, half of the windows
 *       retrieval documents), as uint16 rows of --length ids for `distil_gate.py --windows FILE --row-tokens LENGTH`
 *   npx tsx tools/train/gate_windows.ts fixture --out FILE [--seed 1]
 *       random queries and keys of a small layer, the sampled positions, two gates, and what the engine's
 *       distillation (engine/plas/gate-distill.ts) computes on them: loss, gradient and recall at each gate
 *       (tools/train/test_distil_gate.py compares distil_gate.py's numbers to these)
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { readModelFolder } from '../../engine/model/model-folder.ts';
import { addSequence, evaluateGate, type LayerProblem, meanPoolingGate } from '../../engine/plas/gate-distill.ts';
import { DEFAULT_MODEL_DIR } from '../../main/cli/default-model.ts';
import { DEFAULT_GATE_TEXT } from '../../main/cli/gate/plan.ts';
import { gateWindows } from '../../main/cli/gate/windows.ts';

async function windows(v: Record<string, string | undefined>): Promise<void> {
  const length = Number(v.length ?? 2048);
  const tokens = Number(v.tokens ?? 65536);
  const folder = await readModelFolder(v.model ?? DEFAULT_MODEL_DIR);
  const text = await readFile(DEFAULT_GATE_TEXT, 'utf8');
  const count = Math.max(1, Math.floor(tokens / length));
  const rows = gateWindows(folder.tokenizer, text, { length, count, retrievalFraction: 0.5, seed: 1 });
  const out = new Uint16Array(count * length);
  rows.forEach((ids, i) => {
    if (ids.some((id) => id > 0xffff)) throw new RangeError('token ids above 65535 do not fit the uint16 rows');
    out.set(ids.slice(0, length), i * length); // a retrieval document shorter than the window ends in zeros
  });
  await writeFile(v.out!, out);
  console.error(`${count} windows of ${length} tokens written to ${v.out}`);
}

/** A seeded generator (the same numbers in every run). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 2 ** 32;
  };
}

async function fixture(v: Record<string, string | undefined>): Promise<void> {
  const next = random(Number(v.seed ?? 1));
  const normal = () => Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
  const shape = { heads: 4, kvHeads: 2, D: 8, blockSize: 4 };
  const { heads, kvHeads, D, blockSize: B } = shape;
  const lengths = [40, 57];
  const seqs = lengths.map((T) => ({
    T,
    // Keys with a few loud positions, so attention has peaks for the gate to find.
    q: Float32Array.from({ length: T * heads * D }, () => 2 * normal()),
    k: Float32Array.from({ length: T * kvHeads * D }, (_, i) => normal() * (i % 7 === 0 ? 3 : 1)),
  }));
  const problem: LayerProblem = { shape, keys: [], rows: [] };
  const positions: number[][] = [];
  for (const s of seqs) {
    // addSequence draws each position as first + floor(u * (T - first)): feed it the u that gives the chosen ones.
    const first = 4 * B;
    const chosen = Array.from({ length: 6 }, () => first + Math.floor(next() * (s.T - first)));
    let i = 0;
    const rng = { next: () => (chosen[i++] - first + 0.5) / (s.T - first) };
    addSequence(problem, { q: s.q, k: s.k }, s.T, chosen.length, rng);
    positions.push(chosen);
  }
  const gates = [meanPoolingGate(shape), Float32Array.from({ length: kvHeads * B * D }, () => 0.25 + 0.3 * normal())];
  const results = gates.map((W) => {
    const grad = new Float32Array(W.length);
    const e = evaluateGate(problem, W, 0.25, grad);
    return { loss: e.loss, recall: e.recall, rows: e.rows, grad: Array.from(grad) };
  });
  const out = {
    shape,
    seqs: seqs.map((s, i) => ({ T: s.T, q: Array.from(s.q), k: Array.from(s.k), positions: positions[i] })),
    gates: gates.map((W) => Array.from(W)),
    engine: results,
  };
  await writeFile(v.out!, JSON.stringify(out));
  console.error(`fixture of ${problem.rows.length} rows written to ${v.out}`);
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    out: { type: 'string' },
    model: { type: 'string' },
    tokens: { type: 'string' },
    length: { type: 'string' },
    seed: { type: 'string' },
  },
});
if (!values.out) throw new Error('--out FILE is required');
if (positionals[0] === 'windows') await windows(values);
else if (positionals[0] === 'fixture') await fixture(values);
else throw new Error(`unknown command ${JSON.stringify(positionals[0])}: windows or fixture`);
