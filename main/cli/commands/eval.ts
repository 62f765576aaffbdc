/** `plas eval retrieval`: needle-in-a-haystack accuracy for dense attention and PLAS's block scores. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { adapterName } from '../../../engine/gpu/device.ts';
import { loadModel } from '../../../engine/model/load-model.ts';
import type { PlasConfig } from '../../../engine/plas/config.ts';
import { gateBlockSize } from '../../../engine/plas/gate-weights.ts';
import { MODEL_FLAG_HELP, modelDir, RESOURCES } from '../default-model.ts';
import {
  evalRetrieval,
  RETRIEVAL_MODES,
  type RetrievalMode,
  retrievalTableHeader,
  retrievalTableRow,
} from '../eval/retrieval.ts';
import { addGpuFlags, type GpuFlags, openGpu } from './gpu-options.ts';

export const DEFAULT_FILLER = join(RESOURCES, 'eval', 'filler-kjv-heldout.txt');

const list = (name: string, check: (n: number) => boolean) => (value: string) =>
  value.split(',').map((x) => {
    const n = Number(x.trim());
    if (x.trim() === '' || !check(n)) throw new InvalidArgumentError(`${name}: bad value "${x}" in "${value}"`);
    return n;
  });

interface EvalFlags extends GpuFlags {
  model?: string;
  lengths: number[];
  samples: number;
  depths: number[];
  modes: string;
  task: string;
  topK: number[];
  plasAttentionConfig?: string;
  blockSize?: number;
  filler: string;
  seed: number;
  json?: boolean;
}

export function evalCommand(): Command {
  const evalCmd = new Command('eval').description('accuracy evaluations');
  addGpuFlags(
    evalCmd
      .command('retrieval')
      .description(
        'needle-in-a-haystack accuracy at several lengths: dense, and PLAS with mean pooling, the learned gate, key ' +
          'bounds, or the learned gate on key bounds',
      )
      .option('--model <dir>', MODEL_FLAG_HELP)
      .option(
        '--lengths <list>',
        'context lengths in tokens',
        list('--lengths', (n) => Number.isInteger(n) && n >= 64),
        [512, 1024, 2048],
      )
      .option(
        '--samples <n>',
        'documents per length (the same for every mode)',
        (v) => list('--samples', (n) => Number.isInteger(n) && n >= 1)(v)[0],
        50,
      )
      .option(
        '--depths <list>',
        'needle depths in [0, 1], cycled over the samples',
        list('--depths', (n) => n >= 0 && n <= 1),
        [0, 0.25, 0.5, 0.75, 1],
      )
      .option('--modes <list>', `which of ${RETRIEVAL_MODES.join(', ')}`, RETRIEVAL_MODES.join(','))
      .option('--task <name>', 'passkey (one key) or facts (four key-value facts, one asked)', 'passkey')
      .option(
        '--top-k <left,right>',
        'PLAS top-k as fractions of the blocks at each length',
        list('--top-k', (n) => n > 0 && n <= 1),
        [0.15, 0.2],
      )
      .option('--plas-attention-config <json>', 'more PLAS settings, e.g. \'{"denseLastLayer": false}\'')
      .option(
        '--block-size <n>',
        "PLAS block size (default: the gate file's, else 64)",
        (v) => list('--block-size', (n) => Number.isInteger(n))(v)[0],
      )
      .option('--filler <file>', 'text the needles hide in', DEFAULT_FILLER)
      .option(
        '--seed <n>',
        'seed of the documents',
        (v) => list('--seed', (n) => Number.isInteger(n) && n >= 0)(v)[0],
        1,
      )
      .option('--json', 'print one JSON document'),
  ).action(async (flags: EvalFlags) => {
    const modes = flags.modes.split(',').map((m) => m.trim()) as RetrievalMode[];
    for (const m of modes) {
      if (!RETRIEVAL_MODES.includes(m))
        throw new InvalidArgumentError(`--modes: unknown mode "${m}" (known: ${RETRIEVAL_MODES.join(', ')})`);
    }
    if (flags.task !== 'passkey' && flags.task !== 'facts')
      throw new InvalidArgumentError(`--task must be passkey or facts, got "${flags.task}"`);
    if (flags.topK.length !== 2 || flags.topK[0] > flags.topK[1]) {
      throw new InvalidArgumentError(`--top-k must be "left,right" with left <= right, got ${flags.topK.join(',')}`);
    }
    let plas: Partial<PlasConfig> = {};
    if (flags.plasAttentionConfig) {
      try {
        plas = JSON.parse(flags.plasAttentionConfig);
      } catch (error) {
        throw new InvalidArgumentError(`--plas-attention-config is not valid JSON: ${(error as Error).message}`);
      }
    }
    const dir = modelDir(flags.model);
    const log = flags.json ? () => {} : (m: string) => console.error(m);
    const filler = await readFile(flags.filler, 'utf8');
    const gpu = await openGpu(flags, log);
    const model = await loadModel(gpu, dir);
    try {
      const blockSize = flags.blockSize ?? (await gateBlockSize(dir)) ?? 64;
      const options = {
        lengths: flags.lengths,
        samples: flags.samples,
        depths: flags.depths,
        modes,
        task: flags.task as 'passkey' | 'facts',
        topK: [flags.topK[0], flags.topK[1]] as [number, number],
        plas,
        seed: flags.seed,
        filler,
      };
      if (!flags.json) {
        console.log(`Adapter: ${adapterName(gpu.adapter)}; model: ${dir}; task: ${flags.task}; block ${blockSize}`);
        console.log(retrievalTableHeader());
      }
      const rows = await evalRetrieval(gpu, model, options, blockSize, (row) => {
        if (!flags.json) console.log(retrievalTableRow(row));
      });
      if (flags.json) {
        console.log(
          JSON.stringify(
            {
              adapter: gpu.adapter,
              model: dir,
              task: flags.task,
              blockSize,
              options: { ...options, filler: flags.filler },
              rows,
            },
            null,
            2,
          ),
        );
      }
    } finally {
      model.dispose();
      gpu.destroy();
    }
  });
  return evalCmd;
}
