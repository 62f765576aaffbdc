/**
 * The pass-key prompts of `plas eval retrieval`, written for the PyTorch side (tools/train/plas_sim.py, probe.py):
 * the same documents the engine evaluates (same seed, depths and filler), so a simulated table and the engine's
 * confirmation run see identical prompts.
 *
 *   npx tsx tools/train/probes.ts --model resources/models/plas-mini --lengths 2048,4096,8192 --samples 50 --out FILE
 *
 * Each probe: { length, depth, answer, ids (the prompt's token ids), answerIds (" " + answer, tokenized) }.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Tokenizer } from '../../engine/tokenizer/tokenizer.ts';
import { DEFAULT_FILLER } from '../../main/cli/commands/eval.ts';
import { retrievalDocuments } from '../../main/cli/eval/retrieval.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    lengths: { type: 'string', default: '2048,4096,8192' },
    samples: { type: 'string', default: '50' },
    depths: { type: 'string', default: '0,0.25,0.5,0.75,1' },
    seed: { type: 'string', default: '1' },
    filler: { type: 'string', default: DEFAULT_FILLER },
    out: { type: 'string' },
  },
});
const usage = 'usage: tools/train/probes.ts --model DIR --out FILE [--lengths 2048,4096,8192] [--samples 50]';
if (!values.model || !values.out) throw new Error(usage);
const numbers = (flag: string, text: string, ok: (n: number) => boolean) => {
  const list = text.split(',').map(Number);
  if (!list.every(ok)) throw new Error(`--${flag}: bad list "${text}"`);
  return list;
};
const lengths = numbers('lengths', values.lengths, (n) => Number.isInteger(n) && n >= 64);
const [samples] = numbers('samples', values.samples, (n) => Number.isInteger(n) && n >= 1);
const depths = numbers('depths', values.depths, (n) => n >= 0 && n <= 1);
const [seed] = numbers('seed', values.seed, (n) => Number.isInteger(n) && n >= 0);

const tokenizer = await Tokenizer.fromFolder(values.model);
const filler = readFileSync(values.filler, 'utf8');
const encode = (text: string) => tokenizer.encode(text, { addSpecialTokens: false });
const probes = lengths.flatMap((length) =>
  retrievalDocuments(tokenizer, { samples, depths, task: 'passkey', seed, filler }, length).map((doc) => ({
    length,
    depth: doc.depth,
    answer: doc.answer,
    ids: encode(doc.prompt),
    answerIds: encode(` ${doc.answer}`),
  })),
);
writeFileSync(values.out, JSON.stringify(probes));
console.log(`${probes.length} probes (${samples} per length at ${lengths.join(', ')}) written to ${values.out}`);
