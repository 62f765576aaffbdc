/** `plas bench <what>`: benchmark commands. Speed targets are measured here, never by timed tests. */
import { Command, InvalidArgumentError } from 'commander';
import { adapterName } from '../../../engine/gpu/device.ts';
import type { KvDType } from '../../../engine/kv/paged-layout.ts';
import { loadModel } from '../../../engine/model/load-model.ts';
import { defaultPlasConfig, mergePlasConfig } from '../../../engine/plas/config.ts';
import { attentionTableHeader, attentionTableRow, benchAttention } from '../bench/attention-bench.ts';
import { benchKernels, kernelTableHeader, kernelTableRow } from '../bench/kernels-bench.ts';
import { proxyBenchCommand } from '../bench/proxy-bench.ts';
import { quantModelCommand } from '../bench/quant-model-command.ts';
import {
  attentionRatios,
  benchServe,
  SERVE_VARIANTS,
  type ServeVariant,
  serveTableHeader,
  serveTableRow,
  variantRatios,
} from '../bench/serve-bench.ts';
import { benchServeHttp, httpTableHeader, httpTableRow } from '../bench/serve-http.ts';
import { MODEL_FLAG_HELP, modelDir } from '../default-model.ts';
import { type AttentionFlags, addAttentionFlags, attentionInput } from './attention-flags.ts';
import { addGpuFlags, type GpuFlags, openGpu } from './gpu-options.ts';
import { KV_DTYPE_HELP, kvCacheDtype } from './kv-cache-flags.ts';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

export function benchCommand(): Command {
  const bench = new Command('bench').description('measure kernels, attention and serving speed');
  addGpuFlags(
    bench
      .command('kernels')
      .description('every kernel at decode and prefill sizes of 0.5B-8B models, against its TypeScript twin')
      .option('--json', 'print one JSON document instead of a table')
      .option('--repeats <n>', 'timed calls per case (median reported)', positiveInt, 5)
      .option('--quick', 'only the small (0.5B-size) cases')
      .option('--no-twin', 'skip timing the TypeScript twins')
      .option('--kernel <names...>', 'only kernels whose name contains one of these'),
  ).action(
    async (
      flags: GpuFlags & { json?: boolean; repeats: number; quick?: boolean; twin: boolean; kernel?: string[] },
    ) => {
      const gpu = await openGpu(flags);
      try {
        if (!flags.json) console.log(kernelTableHeader(gpu));
        const rows = await benchKernels(
          gpu,
          {
            repeats: flags.repeats,
            quick: flags.quick ?? false,
            twin: flags.twin,
            filter: flags.kernel ?? [],
            twinBudgetMs: 3000,
          },
          (row) => {
            if (!flags.json) console.log(kernelTableRow(row));
          },
        );
        if (flags.json) console.log(JSON.stringify({ adapter: gpu.adapter, features: gpu.features, rows }, null, 2));
      } finally {
        gpu.destroy();
      }
    },
  );
  addGpuFlags(
    bench
      .command('serve')
      .description('continuous batching end to end: output tok/s, TTFT and TPOT (p50, p99) per concurrency level')
      .option('--model <dir>', MODEL_FLAG_HELP)
      .option(
        '--concurrency <list>',
        'comma-separated concurrency levels',
        (v: string) => v.split(',').map((x) => positiveInt(x.trim())),
        [1, 4, 16],
      )
      .option('--prompt-tokens <n>', 'prompt length of every request', positiveInt, 128)
      .option('--max-tokens <n>', 'tokens generated per request', positiveInt, 32)
      .option('--kv-cache-memory <MB>', 'KV pool size in MiB', positiveInt)
      .option('--kv-cache-dtype <dtype>', KV_DTYPE_HELP, kvCacheDtype, 'f16')
      .option('--page-size <n>', "tokens per KV page (default 64, or a smaller learned gate's block size)", positiveInt)
      .option('--max-num-batched-tokens <n>', 'token budget per step', positiveInt)
      .option('--max-num-seqs <n>', 'sequences per step', positiveInt)
      .option(
        '--variants <list>',
        `comma-separated: ${SERVE_VARIANTS.join(', ')} (each feature's cost is printed as a ratio to plain)`,
        (v: string) =>
          v.split(',').map((x) => {
            const name = x.trim() as ServeVariant;
            if (!SERVE_VARIANTS.includes(name)) {
              throw new InvalidArgumentError(`unknown variant "${x}" (known: ${SERVE_VARIANTS.join(', ')})`);
            }
            return name;
          }),
        ['plain'] as ServeVariant[],
      )
      .option('--no-plas', 'a dense engine that keeps no PLAS key sums (to measure what keeping them costs)')
      .option(
        '--compare-attention',
        "run every level dense and then with PLAS (the model's recommended settings unless --plas-attention-config " +
          'says otherwise) on the same prompts, and print PLAS time to first token and per output token over dense',
      )
      .option(
        '--url <url>',
        'send the same load over HTTP (streaming /v1/completions) to a server running at this URL instead of ' +
          'loading a model here (API key from $PLAS_API_KEY, as serve takes it); compare with a run without it',
      )
      .option('--json', 'print one JSON document instead of a table'),
  );
  addAttentionFlags(bench.commands.find((c) => c.name() === 'serve')!).action(
    async (
      flags: GpuFlags &
        AttentionFlags & {
          model?: string;
          concurrency: number[];
          promptTokens: number;
          maxTokens: number;
          kvCacheMemory?: number;
          kvCacheDtype: KvDType;
          pageSize?: number;
          maxNumBatchedTokens?: number;
          maxNumSeqs?: number;
          url?: string;
          variants: ServeVariant[];
          plas: boolean;
          compareAttention?: boolean;
          json?: boolean;
        },
    ) => {
      if (flags.url !== undefined) {
        const options = {
          url: flags.url,
          concurrency: flags.concurrency,
          promptTokens: flags.promptTokens,
          maxTokens: flags.maxTokens,
          apiKey: process.env.PLAS_API_KEY,
        };
        if (!flags.json) console.log(`Server: ${flags.url} (over HTTP)\n${httpTableHeader()}`);
        const rows = await benchServeHttp(options, (row) => {
          if (!flags.json) console.log(httpTableRow(row));
        });
        if (flags.json) console.log(JSON.stringify({ url: flags.url, rows }, null, 2));
        return;
      }
      if (flags.compareAttention && !flags.plas)
        throw new InvalidArgumentError('--compare-attention needs PLAS: leave out --no-plas');
      const dir = modelDir(flags.model);
      const gpu = await openGpu(flags, flags.json ? () => {} : undefined);
      const model = await loadModel(gpu, dir);
      try {
        const maxSeqs = flags.maxNumSeqs ?? Math.max(...flags.concurrency);
        const engine = {
          attention: {
            ...attentionInput(flags),
            allowPlas: flags.plas,
            // Every step's PLAS counts, so the density printed is the run's, not a sample of it.
            ...(flags.compareAttention ? { statsSampleEvery: 1 } : {}),
          },
          cache: {
            dtype: flags.kvCacheDtype,
            ...(flags.pageSize ? { pageSize: flags.pageSize } : {}),
            ...(flags.kvCacheMemory ? { memoryBytes: flags.kvCacheMemory * 2 ** 20 } : {}),
          },
          scheduler: {
            maxNumSeqs: maxSeqs,
            maxNumBatchedTokens: flags.maxNumBatchedTokens ?? Math.max(1024, maxSeqs),
          },
        };
        if (!flags.json) {
          console.log(`Adapter: ${adapterName(gpu.adapter)}; model: ${dir} (${model.config.architecture})`);
          console.log(serveTableHeader());
        }
        const rows = await benchServe(
          gpu,
          model,
          {
            concurrency: flags.concurrency,
            promptTokens: flags.promptTokens,
            maxTokens: flags.maxTokens,
            engine,
            variants: flags.variants,
            compareAttention: flags.compareAttention,
          },
          (row) => {
            if (!flags.json) console.log(serveTableRow(row));
          },
        );
        const ratios = variantRatios(rows);
        const plasOverDense = attentionRatios(rows);
        if (flags.json)
          console.log(JSON.stringify({ adapter: gpu.adapter, model: dir, rows, ratios, plasOverDense }, null, 2));
        else if (ratios.length > 0) {
          console.log('\nCost per output token, as a ratio to plain at the same concurrency:');
          for (const r of ratios) {
            console.log(
              `  ${r.variant.padEnd(12)} conc ${String(r.concurrency).padStart(3)}: TPOT p50 x${r.tpotRatio.toFixed(2)}, ` +
                `throughput x${(1 / r.throughputRatio).toFixed(2)}`,
            );
          }
        }
        if (!flags.json && plasOverDense.length > 0) {
          console.log('\nPLAS over dense, same prompts (below 1: PLAS is faster):');
          for (const r of plasOverDense) {
            console.log(
              `  ${r.variant.padEnd(12)} conc ${String(r.concurrency).padStart(3)}: TTFT p50 x${r.ttftRatio.toFixed(2)}, ` +
                `TPOT p50 x${r.tpotRatio.toFixed(2)} at ${(100 * r.plasDensity).toFixed(1)}% of the blocks`,
            );
          }
        }
      } finally {
        model.dispose();
        gpu.destroy();
      }
    },
  );
  addAttentionFlags(
    addGpuFlags(
      bench
        .command('attention')
        .description('dense and PLAS attention over a paged cache of synthetic keys: time, ratio, density, ideal ratio')
        .option(
          '--context <list>',
          'comma-separated context lengths',
          (v: string) => v.split(',').map((x) => positiveInt(x.trim())),
          [4096, 16384, 65536, 131072],
        )
        .option('--mode <mode>', 'decode (one new token) or prefill (a chunk of new tokens)', 'decode')
        .option('--heads <q:kv>', 'query and KV heads', '32:8')
        .option('--head-dim <n>', 'head dimension', positiveInt, 128)
        .option('--prefill-tokens <n>', 'new tokens per prefill call', positiveInt, 128)
        .option('--page-size <n>', 'tokens per KV page', positiveInt, 64)
        .option('--repeats <n>', 'timed calls per case (median reported)', positiveInt, 3)
        .option('--json', 'print one JSON document instead of a table'),
    ),
  ).action(
    async (
      flags: GpuFlags &
        AttentionFlags & {
          context: number[];
          mode: string;
          heads: string;
          headDim: number;
          prefillTokens: number;
          pageSize: number;
          repeats: number;
          json?: boolean;
        },
    ) => {
      if (flags.mode !== 'decode' && flags.mode !== 'prefill')
        throw new InvalidArgumentError(`--mode must be decode or prefill, got "${flags.mode}"`);
      const m = /^(\d+):(\d+)$/.exec(flags.heads);
      if (!m || Number(m[1]) % Number(m[2]) !== 0)
        throw new InvalidArgumentError(`--heads must be Q:KV with KV dividing Q, got "${flags.heads}"`);
      const partial = attentionInput(flags).plas;
      const plas = mergePlasConfig(defaultPlasConfig(partial.plas_block_size ?? 128), partial, flags.pageSize);
      const gpu = await openGpu(flags, flags.json ? () => {} : undefined);
      try {
        if (!flags.json) {
          console.log(
            `Adapter: ${adapterName(gpu.adapter)}; heads ${flags.heads}, head_dim ${flags.headDim}, page ${flags.pageSize}, block ${plas.plas_block_size}, ` +
              `${flags.mode} top-k [${flags.mode === 'decode' ? `${plas.plas_decoder_top_k_left}, ${plas.plas_decoder_top_k_right}` : `${plas.plas_encoder_top_k_left}, ${plas.plas_encoder_top_k_right}`}]`,
          );
          console.log(attentionTableHeader());
        }
        const rows = await benchAttention(
          gpu,
          {
            contexts: flags.context,
            mode: flags.mode,
            heads: Number(m[1]),
            kvHeads: Number(m[2]),
            headDim: flags.headDim,
            prefillTokens: flags.prefillTokens,
            pageSize: flags.pageSize,
            repeats: flags.repeats,
            plas,
          },
          (row) => {
            if (!flags.json) console.log(attentionTableRow(row));
          },
        );
        if (flags.json) console.log(JSON.stringify({ adapter: gpu.adapter, plas, rows }, null, 2));
      } finally {
        gpu.destroy();
      }
    },
  );
  bench.addCommand(quantModelCommand());
  bench.addCommand(proxyBenchCommand());
  return bench;
}
