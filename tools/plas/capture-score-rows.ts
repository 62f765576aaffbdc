/**
 * Captures real PLAS gate-score rows from a model (default PLAS Mini) on retrieval prompts, for the top-k tests and
 * tools/plas/topk-range.ts: each prompt runs once through the model's own forward pass on the GPU
 * (engine/plas/score-capture.ts), then every layer and head is scored at a few query positions, with the model's
 * learned gate (at its block size) and with mean pooling (blocks of 16). The positions are the prompt's last tokens (the question, where a decode step
 * looks for the needle) and a few spread over the prompt (prefill rows).
 *
 *   npx tsx tools/plas/capture-score-rows.ts [--model DIR] [--out FILE] [--software]
 *
 * The default output is the committed fixture test/fixtures/plas/score-rows-plas-mini.json (~5 min on SwiftShader).
 */
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { SamplingRng } from '../../engine/generation/rng.ts';
import { loadModel } from '../../engine/model/load-model.ts';
import { captureQueriesAndKeys } from '../../engine/plas/attention-capture.ts';
import { gateBlockSize, loadPlasGateWeights } from '../../engine/plas/gate-weights.ts';
import { scoreRows } from '../../engine/plas/score-capture.ts';
import { openGpu } from '../../main/cli/commands/gpu-options.ts';
import { DEFAULT_MODEL_DIR, RESOURCES } from '../../main/cli/default-model.ts';
import { factsDocument, Haystack, passKeyDocument } from '../../main/cli/eval/needle.ts';
import { type CapturedRow, DEFAULT_SCORE_ROWS, writeScoreRows } from './score-rows-file.ts';

const ROOT = join(import.meta.dirname, '..', '..');
/** Mean-pooled rows are scored on blocks of 16 tokens (PLAS's smallest): 128 blocks at 2K tokens. */
const MEAN_BLOCK_SIZE = 16;

/** The prompts: pass keys at two lengths and depths, and key-value facts (several needles). */
const PROMPTS = [
  { kind: 'passkey', tokens: 2032, depth: 0.25 },
  { kind: 'facts', tokens: 2032, depth: 0.75 },
  { kind: 'passkey', tokens: 1008, depth: 0.5 },
] as const;

/** Query positions of a prompt of T tokens: the last 4 (question and answer prefix) and 4 spread over the rest. */
function positions(T: number): number[] {
  return [0.3, 0.5, 0.7, 0.85].map((f) => Math.floor(f * T)).concat([T - 4, T - 3, T - 2, T - 1]);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: DEFAULT_MODEL_DIR },
      out: { type: 'string', default: DEFAULT_SCORE_ROWS },
      software: { type: 'boolean', default: false },
    },
  });
  const dir = values.model;
  const gpu = await openGpu({ software: values.software });
  const model = await loadModel(gpu, dir);
  try {
    const d = model.dims;
    const blockSize = (await gateBlockSize(dir)) ?? 64;
    const gate = await loadPlasGateWeights(dir, { ...d, blockSize });
    const tok = model.tokenizer;
    const count = (t: string) => tok.encode(t, { addSpecialTokens: false }).length;
    const haystack = new Haystack(await readFile(join(RESOURCES, 'eval', 'filler-kjv-heldout.txt'), 'utf8'), count);
    const rng = new SamplingRng(19);
    const names = ['apple', 'river', 'lantern', 'garden', 'window', 'mountain', 'harbor', 'violin', 'desert', 'castle'];
    const rows: CapturedRow[] = [];
    const prompts: { kind: string; tokens: number; depth: number }[] = [];
    for (const [i, p] of PROMPTS.entries()) {
      const doc =
        p.kind === 'passkey'
          ? passKeyDocument(haystack, count, rng, { tokens: p.tokens, depth: p.depth })
          : factsDocument(haystack, count, rng, { tokens: p.tokens, depth: p.depth, names, facts: 4 });
      const ids = tok.encode(doc.prompt, { addSpecialTokens: false });
      prompts.push({ kind: p.kind, tokens: ids.length, depth: p.depth });
      const started = performance.now();
      const captured = await captureQueriesAndKeys(gpu, model, ids);
      const at = positions(ids.length);
      // The shipped gate at its block size, and mean pooling at the smallest block size (twice the blocks a row).
      for (const [pooling, gates, B] of [
        ['learned', gate.layers, blockSize],
        ['mean', undefined, MEAN_BLOCK_SIZE],
      ] as const) {
        for (const r of scoreRows(captured, d, { blockSize: B, positions: at, gates })) {
          const { layer, head, position, scores } = r;
          rows.push({ pooling, blockSize: B, prompt: i, layer, head, position, scores });
        }
      }
      const seconds = ((performance.now() - started) / 1000).toFixed(0);
      console.error(`prompt ${i + 1}/${PROMPTS.length}: ${ids.length} tokens captured in ${seconds} s`);
    }
    const command = `npx tsx tools/plas/capture-score-rows.ts --model ${relative(ROOT, dir)}`;
    await writeScoreRows(values.out, { model: relative(ROOT, dir), command, prompts, rows });
    console.error(`${rows.length} rows written to ${values.out}`);
  } finally {
    model.dispose();
    gpu.destroy();
  }
}

await main();
