/**
 * Writes a tiny random-weight model in the Hugging Face layout, for benchmarks and trying the CLI without a real
 * model: `npx tsx tools/make-tiny-model.ts DIR [--arch llama] [--dtype f16] [--hidden 64] [--layers 2] ...`.
 */
import { parseArgs } from 'node:util';
import type { FloatDType } from '../engine/gpu/dtype.ts';
import { TINY_ARCHITECTURES, type TinyArchitecture, writeTinyModel } from '../test/fixtures/tiny-model.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    arch: { type: 'string', default: 'llama' },
    dtype: { type: 'string', default: 'f16' },
    hidden: { type: 'string' },
    layers: { type: 'string' },
    heads: { type: 'string' },
    'kv-heads': { type: 'string' },
    'head-dim': { type: 'string' },
    intermediate: { type: 'string' },
    seed: { type: 'string', default: '1' },
  },
});
const dir = positionals[0];
if (!dir)
  throw new Error(
    'usage: tools/make-tiny-model.ts DIR [--arch llama|mistral|qwen2|qwen3|ernie4_5] [--dtype f32|f16|bf16] ...',
  );
if (!TINY_ARCHITECTURES.includes(values.arch as TinyArchitecture))
  throw new Error(`--arch must be one of ${TINY_ARCHITECTURES.join(', ')}`);
const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
const model = await writeTinyModel(dir, {
  architecture: values.arch as TinyArchitecture,
  dtype: values.dtype as FloatDType,
  seed: Number(values.seed),
  ...(values.hidden ? { hiddenSize: num(values.hidden) } : {}),
  ...(values.layers ? { layers: num(values.layers) } : {}),
  ...(values.heads ? { heads: num(values.heads) } : {}),
  ...(values['kv-heads'] ? { kvHeads: num(values['kv-heads']) } : {}),
  ...(values['head-dim'] ? { headDim: num(values['head-dim']) } : {}),
  ...(values.intermediate ? { intermediate: num(values.intermediate) } : {}),
});
console.log(`wrote ${model.config.architecture} (${values.dtype}) to ${dir}`);
