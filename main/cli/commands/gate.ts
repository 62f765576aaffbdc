/** `plas gate train`: distil a model's PLAS gate weights from its own attention (engine/plas/gate-training.ts). */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { loadModel } from '../../../engine/model/load-model.ts';
import { distilGate } from '../../../engine/plas/gate-training.ts';
import { GATE_WEIGHT_FILE, gateFileOf, writeGateWeights } from '../../../engine/plas/gate-weights.ts';
import { MODEL_FLAG_HELP, modelDir } from '../default-model.ts';
import {
  DEFAULT_GATE_TEXT,
  type GatePlan,
  GatePlanError,
  type GatePlanField,
  heldOutSummary,
  planGateTraining,
} from '../gate/plan.ts';
import { addGpuFlags, type GpuFlags, openGpu } from './gpu-options.ts';

const FLAG_NAMES: Record<GatePlanField, string> = { tokens: '--tokens', length: '--length', blockSize: '--block-size' };

const int = (name: string, min: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got "${value}"`);
  return n;
};
const fraction = (name: string) => (value: string) => {
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError(`${name} must be in [0, 1], got "${value}"`);
  return n;
};
const positive = (name: string) => (value: string) => {
  const n = Number(value);
  if (!(n > 0 && Number.isFinite(n))) throw new InvalidArgumentError(`${name} must be > 0, got "${value}"`);
  return n;
};

interface GateTrainFlags extends GpuFlags {
  model?: string;
  data?: string[];
  tokens: number;
  length?: number;
  blockSize?: number;
  retrievalFraction: number;
  queries: number;
  steps: number;
  lr?: number;
  seed: number;
  out?: string;
  json?: boolean;
}

export function gateCommand(): Command {
  const gate = new Command('gate').description('PLAS gate weights');
  addGpuFlags(
    gate
      .command('train')
      .description(
        'distil the PLAS gate from the model: true attention max-pooled per block is the target, ' +
          'softmax over blocks of q.Kc/sqrt(d) the prediction, KL the loss; only the gate changes',
      )
      .option('--model <dir>', MODEL_FLAG_HELP)
      .option('--data <files...>', `plain text to run through the model (default: ${DEFAULT_GATE_TEXT})`)
      .option('--tokens <n>', 'tokens to distil on, in windows of --length', int('--tokens', 1), 65536)
      .option('--length <n>', 'tokens per window (default: min(2048, the model context))', int('--length', 16))
      .option(
        '--block-size <n>',
        "PLAS block size to learn for (default: the existing gate file's, else 128)",
        int('--block-size', 16),
      )
      .option(
        '--retrieval-fraction <f>',
        'share of windows that are pass-key or key-value documents',
        fraction('--retrieval-fraction'),
        0.5,
      )
      .option('--queries <n>', 'query positions sampled per window', int('--queries', 1), 128)
      .option('--steps <n>', 'Adam steps per layer', int('--steps', 1), 300)
      .option('--lr <x>', 'Adam learning rate (default 2e-3 / block size)', positive('--lr'))
      .option('--seed <n>', 'seed for windows and sampled queries', int('--seed', 0), 1)
      .option(
        '--out <file>',
        `where to write the weights (default: the model folder's ${GATE_WEIGHT_FILE}, or <file>.plas-gate.safetensors beside a .gguf)`,
      )
      .option('--json', 'print one JSON document'),
  ).action(async (flags: GateTrainFlags) => {
    const dir = modelDir(flags.model);
    const log = flags.json ? () => {} : (m: string) => console.error(m);
    const files = flags.data ?? [DEFAULT_GATE_TEXT];
    const text = (await Promise.all(files.map((f) => readFile(f, 'utf8')))).join('\n\n');
    const gpu = await openGpu(flags, log);
    const model = await loadModel(gpu, dir);
    try {
      let plan: GatePlan;
      try {
        plan = await planGateTraining(model, text, {
          tokens: flags.tokens,
          length: flags.length,
          blockSize: flags.blockSize,
          retrievalFraction: flags.retrievalFraction,
          seed: flags.seed,
          label: (field) => FLAG_NAMES[field],
          log,
        });
      } catch (error) {
        if (error instanceof GatePlanError) throw new InvalidArgumentError(error.message);
        throw error;
      }
      const { blockSize, length, count, windows } = plan;
      const d = model.dims;
      log(`gate train: ${count} windows of ${length} tokens, block ${blockSize}, ${flags.steps} steps per layer`);
      const result = await distilGate(gpu, model, windows, {
        blockSize,
        queriesPerWindow: flags.queries,
        steps: flags.steps,
        ...(flags.lr !== undefined ? { lr: flags.lr } : {}),
        seed: flags.seed,
        log,
      });
      const out = flags.out ?? gateFileOf(model.dir); // beside the model (a folder's, or <file>.gguf.plas-gate.safetensors)
      await writeGateWeights(
        out,
        result.weights,
        { numLayers: d.numLayers, kvHeads: d.kvHeads, headDim: d.headDim, blockSize },
        {
          trained_by: 'plas gate train',
          block_size: String(blockSize),
          windows: String(count),
          window_tokens: String(length),
          data: files.map((f) => basename(f)).join(','),
        },
      );
      const summary = {
        model: dir,
        out,
        blockSize,
        windows: { train: result.trainWindows, holdout: result.holdoutWindows, tokens: length },
        heldOut: heldOutSummary(result),
        layers: result.layers,
      };
      if (flags.json) console.log(JSON.stringify(summary, null, 2));
      else {
        console.log('layer   loss before -> after (train | held out)        recall@25% before -> after (held out)');
        for (const r of result.layers) {
          const f = (x: number) => x.toFixed(4);
          console.log(
            `${String(r.layer).padStart(5)}   ${f(r.before.train.loss)} -> ${f(r.after.train.loss)} | ` +
              `${f(r.before.holdout.loss)} -> ${f(r.after.holdout.loss)}        ` +
              `${r.before.holdout.recall.toFixed(3)} -> ${r.after.holdout.recall.toFixed(3)}`,
          );
        }
        const h = summary.heldOut;
        console.log(
          `mean (held out): loss ${h.lossBefore.toFixed(4)} -> ${h.lossAfter.toFixed(4)}, ` +
            `recall ${h.recallBefore.toFixed(3)} -> ${h.recallAfter.toFixed(3)}; wrote ${out}`,
        );
      }
    } finally {
      model.dispose();
      gpu.destroy();
    }
  });
  return gate;
}
