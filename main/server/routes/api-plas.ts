/**
 * GET /api/plas: the loaded engine's live PLAS config with each field's bounds (the Tuning page's sliders).
 * PATCH /api/plas: change some fields; validated as a whole by the engine (a PlasConfigError is a 400 naming the
 * values, and nothing changes), in force from the next step.
 */
import { Type } from 'typebox';
import type { PlasConfig } from '../../../engine/plas/config.ts';
import { HttpError } from '../http-error.ts';
import type { PlasApp, RouteDeps } from './deps.ts';

/**
 * The bounds engine/plas/config.ts validates against (test/main/server/api-plas.test.ts checks the engine accepts each
 * end and refuses one past it, so the two cannot drift apart silently).
 */
export const PLAS_BOUNDS = {
  plas_encoder_top_k_left: { min: 1, max: 65536 },
  plas_encoder_top_k_right: { min: 1, max: 65536 },
  plas_decoder_top_k_left: { min: 1, max: 65536 },
  plas_decoder_top_k_right: { min: 1, max: 65536 },
  plas_use_encoder_seq_limit: { min: 0, max: 1 << 24 },
  plas_use_decoder_seq_limit: { min: 0, max: 1 << 24 },
  iterations: { min: 1, max: 32 },
} as const satisfies Partial<Record<keyof PlasConfig, { min: number; max: number }>>;

const int = (key: keyof typeof PLAS_BOUNDS) =>
  Type.Optional(Type.Integer({ minimum: PLAS_BOUNDS[key].min, maximum: PLAS_BOUNDS[key].max }));

const PatchBody = Type.Object(
  {
    plas_encoder_top_k_left: int('plas_encoder_top_k_left'),
    plas_encoder_top_k_right: int('plas_encoder_top_k_right'),
    plas_decoder_top_k_left: int('plas_decoder_top_k_left'),
    plas_decoder_top_k_right: int('plas_decoder_top_k_right'),
    plas_use_encoder_seq_limit: int('plas_use_encoder_seq_limit'),
    plas_use_decoder_seq_limit: int('plas_use_decoder_seq_limit'),
    iterations: int('iterations'),
    denseLastLayer: Type.Optional(Type.Boolean()),
    // Accepted so a client can send back what GET gave it; the engine refuses a different value (fixed at load).
    plas_block_size: Type.Optional(Type.Integer()),
  },
  { additionalProperties: false },
);

export function apiPlasRoutes(app: PlasApp, deps: RouteDeps): void {
  const engineOrFail = () => {
    const loaded = deps.manager.loaded();
    if (!loaded) {
      throw new HttpError(
        409,
        `no model is loaded: ${deps.manager.notReady() ?? ''}`.trim(),
        'invalid_request_error',
        null,
        'no_model_loaded',
      );
    }
    return loaded;
  };
  const view = () => {
    const { name, engine } = engineOrFail();
    const stats = engine.stats();
    return {
      model: name,
      backend: stats.attention.backend,
      plasAvailable: stats.attention.plasAvailable,
      gate: stats.attention.gate,
      config: engine.plasConfig,
      bounds: { ...PLAS_BOUNDS, plas_block_size: { fixed: engine.plasConfig.plas_block_size } },
    };
  };

  app.get('/api/plas', async () => view());

  app.patch('/api/plas', { schema: { body: PatchBody } }, async (request) => {
    engineOrFail().engine.setPlasConfig(request.body);
    return view();
  });
}
