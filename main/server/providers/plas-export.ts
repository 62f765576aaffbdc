/**
 * The PLAS ranges tuned locally, as FastDeploy takes them (it fixes them at launch): its `--plas-attention-config`
 * JSON and a launch command with FD_ATTENTION_BACKEND=PLAS_ATTN. FastDeploy's PlasAttentionConfig knows the four
 * top-k ranges, the two dense limits and plas_block_size (128 there, fixed by its kernels); `iterations` and
 * `denseLastLayer` are PLAS Studio's own and have no FastDeploy key, so they are left out (and the notes say so).
 */
import { defaultPlasConfig, type PlasConfig } from '../../../engine/plas/config.ts';
import type { PlasExport } from './provider-types.ts';

/** FastDeploy's block size: its kernels are built for it. */
export const FASTDEPLOY_BLOCK_SIZE = 128;

const EXPORTED = [
  'plas_encoder_top_k_left',
  'plas_encoder_top_k_right',
  'plas_decoder_top_k_left',
  'plas_decoder_top_k_right',
  'plas_use_encoder_seq_limit',
  'plas_use_decoder_seq_limit',
] as const;

/** A single-quoted shell word (POSIX shells): nothing in it is expanded. */
export function shellQuote(text: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}

/**
 * `savedPlas` is model settings' `plas` ({config, backend}, see routes/api-plas.ts); `serverModel` is what the
 * FastDeploy server loads (its --model), `port` the port its base URL names.
 */
export function fastDeployExport(savedPlas: unknown, serverModel: string, port: number | null): PlasExport {
  const saved = (savedPlas as { config?: Partial<PlasConfig>; backend?: string } | undefined) ?? undefined;
  const config: Record<string, number> = { ...pick(defaultPlasConfig(FASTDEPLOY_BLOCK_SIZE)) };
  const notes: string[] = [];
  if (saved?.config && typeof saved.config === 'object') Object.assign(config, pick(saved.config));
  else notes.push('No PLAS settings are saved for this model yet: these are the defaults (tune it on this page).');
  if (saved?.backend === 'dense') {
    notes.push('This model runs dense attention here (PLAS off); FastDeploy runs PLAS with these ranges.');
  }
  notes.push(
    `FastDeploy's PLAS blocks are ${FASTDEPLOY_BLOCK_SIZE} tokens: the top-k ranges count blocks, the limits count ` +
      "tokens. iterations and denseLastLayer are PLAS Studio's own and have no FastDeploy key.",
  );
  config.plas_block_size = FASTDEPLOY_BLOCK_SIZE;
  const json = JSON.stringify(config);
  const command = [
    'FD_ATTENTION_BACKEND=PLAS_ATTN python -m fastdeploy.entrypoints.openai.api_server',
    `--model ${shellQuote(serverModel)}`,
    ...(port !== null ? [`--port ${port}`] : []),
    `--plas-attention-config ${shellQuote(json)}`,
  ].join(' ');
  return { config, json, command, saved: Boolean(saved?.config), notes };
}

function pick(source: Partial<PlasConfig>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of EXPORTED) {
    const v = source[key];
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0) out[key] = v;
  }
  return out;
}
