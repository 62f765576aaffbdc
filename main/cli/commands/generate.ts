/** `plas generate`: load a model folder and stream a completion for a prompt or a chat message. */
import { Command, InvalidArgumentError } from 'commander';
import { Engine } from '../../../engine/engine.ts';
import { samplingParams } from '../../../engine/generation/sampling-params.ts';
import { adapterName } from '../../../engine/gpu/device.ts';
import { kvBytesPerToken } from '../../../engine/kv/kv-sizing.ts';
import { checkMemoryFits } from '../../../engine/kv/memory-estimate.ts';
import type { KvDType } from '../../../engine/kv/paged-layout.ts';
import { loadModel } from '../../../engine/model/load-model.ts';
import { modelMemoryShape } from '../../server/models/estimate.ts';
import { MODEL_FLAG_HELP, modelDir } from '../default-model.ts';
import { type AttentionFlags, addAttentionFlags, attentionInput } from './attention-flags.ts';
import { addGpuFlags, type GpuFlags, openGpu } from './gpu-options.ts';
import { KV_DTYPE_HELP, kvCacheDtype, mebibytes, tokenCount } from './kv-cache-flags.ts';

const num = (name: string) => (value: string) => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n))
    throw new InvalidArgumentError(`${name} must be a number, got "${value}"`);
  return n;
};

interface GenerateFlags extends GpuFlags, AttentionFlags {
  model?: string;
  prompt?: string;
  chat?: string;
  system?: string;
  maxTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repetitionPenalty: number;
  seed?: number;
  stop: string[];
  json?: boolean;
  kvCacheMemory?: number;
  maxModelLen?: number;
  kvCacheDtype: KvDType;
  gpuMemory?: number;
}

const MiB = 2 ** 20;

export function generateCommand(): Command {
  return addAttentionFlags(
    addGpuFlags(
      new Command('generate')
        .description('generate text from a prompt (--prompt) or a chat message (--chat) with a model folder')
        .option('--model <dir>', MODEL_FLAG_HELP)
        .option('--prompt <text>', 'raw text to continue')
        .option('--chat <text>', "a user message, formatted with the model's chat template")
        .option('--system <text>', 'a system message (with --chat)')
        .option('--max-tokens <n>', 'tokens to generate at most', num('--max-tokens'), 128)
        .option('--temperature <t>', '0 = greedy', num('--temperature'), 0)
        .option('--top-k <k>', '0 = off', num('--top-k'), 0)
        .option('--top-p <p>', '1 = off', num('--top-p'), 1)
        .option('--min-p <p>', '0 = off', num('--min-p'), 0)
        .option('--repetition-penalty <r>', '1 = off', num('--repetition-penalty'), 1)
        .option('--seed <s>', 'makes sampling reproducible', num('--seed'))
        .option('--stop <strings...>', 'stop when the text contains one of these', [])
        .option(
          '--kv-cache-memory <MB>',
          'KV cache size in MiB (default: what one sequence of --max-model-len tokens needs)',
          mebibytes,
        )
        .option(
          '--max-model-len <n>',
          "longest sequence, prompt + output, in tokens (default: prompt + --max-tokens; at most the model's)",
          tokenCount,
        )
        .option('--kv-cache-dtype <dtype>', KV_DTYPE_HELP, kvCacheDtype, 'f16')
        .option(
          '--gpu-memory <MB>',
          'GPU memory the model may use in all, weights + KV cache, in MiB: checked before anything is loaded',
          mebibytes,
        )
        .option('--json', 'print one JSON document: tokens, text, timings, adapter'),
    ),
  ).action(async (flags: GenerateFlags) => {
    if (!flags.prompt === !flags.chat) throw new InvalidArgumentError('give exactly one of --prompt or --chat');
    const params = samplingParams({
      maxTokens: flags.maxTokens,
      temperature: flags.temperature,
      topK: flags.topK,
      topP: flags.topP,
      minP: flags.minP,
      repetitionPenalty: flags.repetitionPenalty,
      stop: flags.stop,
      ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
    });
    const attention = attentionInput(flags);
    const log = flags.json ? () => {} : (m: string) => console.error(m);
    const dir = modelDir(flags.model);
    const gpu = await openGpu(flags, log);
    // Before any weight is uploaded: the weights and the tokens the pool will hold against this adapter's binding limit
    // and the --gpu-memory budget. A folder that cannot be read here is left to loadModel, which says what is wrong.
    const shape = await modelMemoryShape(dir).catch(() => null);
    if (shape) {
      if (flags.maxModelLen !== undefined && flags.maxModelLen > shape.maxPositionEmbeddings) {
        throw new InvalidArgumentError(
          `--max-model-len (${flags.maxModelLen}) is over the model's max_position_embeddings (${shape.maxPositionEmbeddings})`,
        );
      }
      const limits = {
        maxBindingBytes: Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize),
        ...(flags.gpuMemory !== undefined ? { budgetBytes: flags.gpuMemory * MiB } : {}),
      };
      // What --kv-cache-memory buys, or --max-model-len, or at least the output (the prompt is not tokenized yet:
      // the engine checks again, exactly, before it allocates the pool).
      const perToken = kvBytesPerToken(shape.shape, flags.kvCacheDtype);
      const tokens = flags.kvCacheMemory
        ? Math.max(1, Math.floor((flags.kvCacheMemory * MiB) / perToken))
        : (flags.maxModelLen ?? flags.maxTokens + 1);
      const memory = { shape: shape.shape, weightBytes: shape.weightsBytes, dtype: flags.kvCacheDtype, tokens };
      checkMemoryFits(memory, limits);
    }
    const model = await loadModel(gpu, dir);
    let engine: Engine | null = null;
    try {
      const text = flags.chat
        ? model.tokenizer.applyChatTemplate(
            [
              ...(flags.system ? [{ role: 'system' as const, content: flags.system }] : []),
              { role: 'user', content: flags.chat },
            ],
            { addGenerationPrompt: true },
          )
        : flags.prompt!;
      // A chat template writes its own BOS; raw prompts get the tokenizer's usual special tokens.
      const prompt = model.tokenizer.encode(text, { addSpecialTokens: !flags.chat });
      // Without --max-model-len the pool holds this one request (prompt + max tokens), not the model's whole context.
      const maxModelLen =
        flags.maxModelLen ?? Math.min(prompt.length + flags.maxTokens, model.config.maxPositionEmbeddings);
      engine = await Engine.create(gpu, model, {
        attention,
        maxModelLen,
        cache: {
          dtype: flags.kvCacheDtype,
          ...(flags.kvCacheMemory !== undefined ? { memoryBytes: flags.kvCacheMemory * MiB } : {}),
          ...(flags.gpuMemory !== undefined ? { gpuBudgetBytes: flags.gpuMemory * MiB } : {}),
        },
        scheduler: { maxNumSeqs: 1 },
      });
      if (attention.backend === 'plas') log(`PLAS attention: ${engine.stats().attention.gate}`);
      const kv = engine.stats().kv;
      log(
        `Loaded ${model.config.architecture} from ${dir} in ${(model.loadMs / 1000).toFixed(2)} s; ` +
          `KV cache: ${kv.tokensThatFit} tokens in ${(kv.bytes / MiB).toFixed(1)} MiB (${flags.kvCacheDtype})`,
      );
      const tokens: number[] = [];
      let out = '';
      for await (const event of engine.generate({ promptTokenIds: prompt, sampling: params })) {
        if (event.type === 'token') {
          tokens.push(...event.ids);
          out += event.text;
          if (!flags.json) process.stdout.write(event.text);
        } else if (flags.json) {
          console.log(
            JSON.stringify(
              {
                model: dir,
                architecture: model.config.architecture,
                adapter: adapterName(gpu.adapter),
                promptTokens: prompt.length,
                tokens,
                text: out,
                finishReason: event.finishReason,
                usage: event.usage,
                timings: {
                  loadMs: model.loadMs,
                  timeToFirstTokenMs: event.timings.timeToFirstTokenMs,
                  prefillTokensPerSecond: prompt.length / (event.timings.timeToFirstTokenMs / 1000),
                  decodeTokensPerSecond:
                    event.timings.timePerOutputTokenMs > 0 ? 1000 / event.timings.timePerOutputTokenMs : 0,
                  totalMs: event.timings.totalMs,
                },
                attention: attention.backend,
                kvCache: {
                  dtype: flags.kvCacheDtype,
                  bytes: engine.stats().kv.bytes,
                  tokens: engine.stats().kv.tokensThatFit,
                  maxModelLen,
                },
              },
              null,
              2,
            ),
          );
        } else {
          const t = event.timings;
          const decode = t.timePerOutputTokenMs > 0 ? 1000 / t.timePerOutputTokenMs : 0;
          console.error(
            `\n[${event.finishReason}] ${event.usage.promptTokens} prompt tokens, first token after ${t.timeToFirstTokenMs.toFixed(0)} ms; ` +
              `${event.usage.completionTokens} generated at ${decode.toFixed(1)} tok/s`,
          );
        }
      }
    } finally {
      await engine?.close();
      model.dispose();
      gpu.destroy();
    }
  });
}
