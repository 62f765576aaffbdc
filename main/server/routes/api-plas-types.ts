/**
 * The shapes GET/PATCH /api/plas and POST /api/plas/reset answer with and take. This file imports only the
 * engine's PLAS config types (a file that imports nothing): the renderer imports its types too (`import type`), so
 * the two sides cannot drift apart; api-plas.ts checks that PlasChange is its PATCH schema.
 */

import type { AttentionBackend, BlockScore, PlasConfig } from '../../../engine/plas/config.ts';

/** What a request runs: dense attention, or PLAS. */
export type AttentionBackendName = AttentionBackend;

/** The live PLAS settings: the engine's PlasConfig (engine/plas/config.ts imports nothing, so the renderer may). */
export type PlasSettings = PlasConfig;

/** The settings a slider changes (an integer within bounds). */
export type PlasNumberKey = Exclude<
  keyof PlasSettings,
  'denseLastLayer' | 'topkSearch' | 'plas_block_size' | 'encoderBlockScore' | 'decoderBlockScore'
>;

export type PlasBounds = Record<PlasNumberKey, { min: number; max: number }> & { plas_block_size: { fixed: number } };

/** GET /api/plas (and what PATCH and reset answer with). */
export interface PlasState {
  model: string;
  /** What requests that do not choose run (the PLAS on/off switch). */
  backend: AttentionBackendName;
  plasAvailable: boolean;
  /** e.g. "learned gate on layers 0-3" or "mean pooling on all 4 layers (no ...)". */
  gate: string;
  config: PlasSettings;
  bounds: PlasBounds;
  /** The context requests are held to: the most blocks (and tokens) a top-k or a limit can matter for. */
  context: { tokens: number; blocks: number };
  /** What the model loaded with (the Reset button's target). */
  defaults: { backend: AttentionBackendName; config: PlasSettings };
  /** Whether settings are saved for this model (applied when it loads). */
  saved: boolean;
}

/** PATCH /api/plas's body: some settings and/or the backend. */
export interface PlasChange {
  plas_encoder_top_k_left?: number;
  plas_encoder_top_k_right?: number;
  plas_decoder_top_k_left?: number;
  plas_decoder_top_k_right?: number;
  plas_use_encoder_seq_limit?: number;
  plas_use_decoder_seq_limit?: number;
  iterations?: number;
  denseLastLayer?: boolean;
  topkSearch?: 'refined' | 'original';
  encoderBlockScore?: BlockScore;
  decoderBlockScore?: BlockScore;
  backend?: AttentionBackendName;
  /** Accepted so a client can send back what GET gave it; a different value is refused (fixed at load). */
  plas_block_size?: number;
}
