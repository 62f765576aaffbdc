/** `plas bench quant-model`: the command line of quant-model-bench.ts (flags, progress line, table or JSON). */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { QWEN3_0_6B_SHAPE, type SyntheticMix } from '../../../engine/gguf/synthetic-model.ts';
import { adapterName } from '../../../engine/gpu/device.ts';
import { kvBytesPerToken } from '../../../engine/kv/kv-sizing.ts';
import type { KvDType } from '../../../engine/kv/paged-layout.ts';
import { addGpuFlags, type GpuFlags, openGpu } from '../commands/gpu-options.ts';
import { KV_DTYPE_HELP, kvCacheDtype } from '../commands/kv-cache-flags.ts';
import { benchQuantModel, quantModelTableHeader, quantModelTableRow, speedupsOverF16 } from './quant-model-bench.ts';

const MIXES: readonly SyntheticMix[] = ['q4_k_m', 'f16', 'q8_0', 'q4_0', 'q4_k', 'q5_k', 'q6_k'];
/** benchPrompt draws prompt ids below 4000. */
const MIN_VOCAB = 4096;

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

function mixList(value: string): SyntheticMix[] {
  return value.split(',').map((x) => {
    const mix = x.trim().toLowerCase() as SyntheticMix;
    if (!MIXES.includes(mix)) throw new InvalidArgumentError(`unknown weights "${x}" (known: ${MIXES.join(', ')})`);
    return mix;
  });
}

/** One progress line on stderr, rewritten in place, when stderr is a terminal; nothing otherwise. */
function progressLine(enabled: boolean) {
  let last = '';
  return {
    show(line: string) {
      if (!enabled || line === last) return;
      last = line;
      process.stderr.write(`\r\x1b[2K${line}`);
    },
    clear() {
      if (enabled && last) process.stderr.write('\r\x1b[2K');
      last = '';
    },
  };
}

const kvShape = (s: typeof QWEN3_0_6B_SHAPE) => ({ numLayers: s.layers, kvHeads: s.kvHeads, headDim: s.headDim });

interface QuantModelFlags extends GpuFlags {
  weights: SyntheticMix[];
  promptTokens: number;
  decodeTokens: number;
  repeats: number;
  layers: number;
  vocab: number;
  cacheDir: string;
  seed: number;
  kvCacheDtype: KvDType;
  json?: boolean;
}

export function quantModelCommand(): Command {
  const s = QWEN3_0_6B_SHAPE;
  const command = addGpuFlags(
    new Command('quant-model')
      .description(
        `decode and prefill tok/s of a Q4_K_M GGUF model of Qwen3-0.6B's shape (hidden ${s.hidden}, ${s.layers} layers, ` +
          `${s.heads}/${s.kvHeads} heads of ${s.headDim}, intermediate ${s.intermediate}, vocab ${s.vocab}; random ` +
          'valid weights) against its F16 twin, through the Engine',
      )
      .option('--weights <list>', `comma-separated: ${MIXES.join(', ')}`, mixList, ['q4_k_m', 'f16'] as SyntheticMix[])
      .option('--prompt-tokens <n>', 'prompt length (prefill)', positiveInt, 16)
      .option('--decode-tokens <n>', 'tokens decoded after the first', positiveInt, 8)
      .option('--repeats <n>', 'measured requests per model, the models in turns (medians reported)', positiveInt, 2)
      .option('--layers <n>', 'decoder layers', positiveInt, s.layers)
      .option('--vocab <n>', `vocabulary size (at least ${MIN_VOCAB})`, positiveInt, s.vocab)
      .option(
        '--cache-dir <dir>',
        'where the model files are written once and reused',
        join(tmpdir(), 'plas-bench-models'),
      )
      .option('--seed <n>', 'random weights seed', positiveInt, 1)
      .option('--kv-cache-dtype <dtype>', KV_DTYPE_HELP, kvCacheDtype, 'f16')
      .option('--json', 'print one JSON document instead of a table'),
  );
  return command.action(async (flags: QuantModelFlags) => {
    if (flags.vocab < MIN_VOCAB) throw new InvalidArgumentError(`--vocab must be at least ${MIN_VOCAB}`);
    const shape = { ...s, layers: flags.layers, vocab: flags.vocab };
    const progress = progressLine(process.stderr.isTTY === true && !flags.json);
    const gpu = await openGpu(flags, flags.json ? () => {} : undefined);
    try {
      if (!flags.json) {
        console.log(
          `Adapter: ${adapterName(gpu.adapter)}; ${shape.architecture} shape: hidden ${shape.hidden}, ${shape.layers} layers, ` +
            `heads ${shape.heads}/${shape.kvHeads} x ${shape.headDim}, intermediate ${shape.intermediate}, vocab ${shape.vocab}` +
            `${shape.tiedEmbeddings ? ' (tied)' : ''}; KV ${flags.kvCacheDtype}; models in ${flags.cacheDir}`,
        );
        const perToken = (dtype: KvDType) => kvBytesPerToken(kvShape(shape), dtype);
        console.log(
          `KV cache per token: ${perToken('f16')} bytes at f16, ${perToken('f32')} bytes at f32 ` +
            `(${shape.layers} layers x K and V x ${shape.kvHeads} heads x ${shape.headDim})`,
        );
        console.log(quantModelTableHeader());
      }
      const options = {
        shape,
        mixes: flags.weights,
        promptTokens: flags.promptTokens,
        decodeTokens: flags.decodeTokens,
        repeats: flags.repeats,
        cacheDir: flags.cacheDir,
        kvDtype: flags.kvCacheDtype,
        seed: flags.seed,
      };
      const rows = await benchQuantModel(
        gpu,
        options,
        (row) => {
          progress.clear();
          if (!flags.json) console.log(quantModelTableRow(row));
        },
        (line) => progress.show(line),
      );
      progress.clear();
      const speedups = speedupsOverF16(rows);
      if (flags.json) {
        console.log(JSON.stringify({ adapter: gpu.adapter, shape, rows, speedupsOverF16: speedups }, null, 2));
      } else {
        for (const x of speedups) {
          console.log(
            `${x.mix.toUpperCase()} vs F16: decode x${x.decode.toFixed(2)}, prefill x${x.prefill.toFixed(2)} ` +
              '(tok/s ratio; above 1 is faster)',
          );
        }
      }
    } finally {
      progress.clear();
      gpu.destroy();
    }
  });
}
