/** `--attention-backend` and `--plas-attention-config`, on every command that runs a model. */
import type { Command } from 'commander';
import type { AttentionBackend, PlasConfig } from '../../../engine/plas/config.ts';

/**
 * Which attention a command runs: `--attention-backend plas|dense` when given, else FD_ATTENTION_BACKEND=PLAS_ATTN
 * (the original's switch, which FastDeploy users know) selects PLAS; anything else is dense. The environment is read
 * here, in the CLI: the engine reads none.
 */
export function attentionBackend(
  flag?: string,
  env: Record<string, string | undefined> = process.env,
): AttentionBackend {
  if (flag !== undefined) {
    const f = flag.toLowerCase();
    if (f === 'plas' || f === 'dense') return f;
    throw new Error(`--attention-backend (${JSON.stringify(flag)}) must be plas or dense`);
  }
  return env.FD_ATTENTION_BACKEND?.toUpperCase() === 'PLAS_ATTN' ? 'plas' : 'dense';
}

export interface AttentionFlags {
  attentionBackend?: string;
  plasAttentionConfig?: string;
}

export function addAttentionFlags(command: Command): Command {
  return command
    .option('--attention-backend <name>', 'plas or dense (default: dense, or plas when FD_ATTENTION_BACKEND=PLAS_ATTN)')
    .option(
      '--plas-attention-config <json>',
      `PLAS settings, e.g. '{"plas_encoder_top_k_left": 50, "plas_encoder_top_k_right": 60, "plas_decoder_top_k_left": 100, "plas_decoder_top_k_right": 120}'`,
    );
}

/** The engine's attention input from the flags; the JSON's keys and values are validated by the engine config. */
export function attentionInput(flags: AttentionFlags): { backend: AttentionBackend; plas: Partial<PlasConfig> } {
  const backend = attentionBackend(flags.attentionBackend);
  let plas: Partial<PlasConfig> = {};
  if (flags.plasAttentionConfig !== undefined) {
    try {
      plas = JSON.parse(flags.plasAttentionConfig);
    } catch (error) {
      throw new Error(`--plas-attention-config is not valid JSON: ${(error as Error).message}`);
    }
    if (typeof plas !== 'object' || plas === null || Array.isArray(plas)) {
      throw new Error('--plas-attention-config must be a JSON object');
    }
  }
  return { backend, plas };
}
