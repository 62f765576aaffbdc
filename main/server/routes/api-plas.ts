/**
 * GET /api/plas: the loaded engine's live PLAS config with each field's bounds (the Tuning page's sliders), the
 * backend requests that do not choose run, the model's context (in tokens and PLAS blocks: a useful slider maximum)
 * and the defaults it loaded with.
 * PATCH /api/plas: change some fields and/or `backend`; validated as a whole by the engine (a PlasConfigError is a 400
 * naming the values, and nothing changes), in force from the next step. What is then in force is saved under the
 * model's name (model settings, key `plas`) and applied again whenever that model loads.
 * POST /api/plas/reset: back to the defaults the model loaded with, and the saved settings forgotten.
 */
import { type Static, Type } from 'typebox';
import type { Engine } from '../../../engine/engine.ts';
import type { AttentionBackend, PlasConfig } from '../../../engine/plas/config.ts';
import { ModelSettingsRepository } from '../../store/model-settings-repo.ts';
import { HttpError } from '../http-error.ts';
import type { Agree, Same } from '../same-type.ts';
import { BlockScoreSchema } from '../v1/schemas/common.ts';
import type { PlasChange, PlasState } from './api-plas-types.ts';
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
    topkSearch: Type.Optional(Type.Union([Type.Literal('refined'), Type.Literal('original')])),
    encoderBlockScore: Type.Optional(BlockScoreSchema),
    decoderBlockScore: Type.Optional(BlockScoreSchema),
    /** What requests that do not choose run (the PLAS on/off switch). */
    backend: Type.Optional(Type.Union([Type.Literal('plas'), Type.Literal('dense')])),
    // Accepted so a client can send back what GET gave it; the engine refuses a different value (fixed at load).
    plas_block_size: Type.Optional(Type.Integer()),
  },
  { additionalProperties: false },
);

// The PATCH body the renderer sends is declared once (api-plas-types.ts): it must be the schema's exactly.
type _PatchAgrees = Agree<Same<Static<typeof PatchBody>, PlasChange>>;

/** What is saved per model under settings.plas: every live field but the block size (fixed by the model). */
export interface SavedPlas {
  config: Partial<PlasConfig>;
  backend: AttentionBackend;
}

function savedOf(engine: Engine): SavedPlas {
  const { plas_block_size: _fixed, ...config } = engine.plasConfig;
  return { config, backend: engine.defaultBackend };
}

/** Refuses PLAS on an engine made without it, before anything changes (400 naming the field). */
function checkBackend(engine: Engine, backend: AttentionBackend | undefined): void {
  if (backend === 'plas' && !engine.config.attention.allowPlas) {
    throw new HttpError(
      400,
      'backend: PLAS is not available on this engine (it was started with PLAS off)',
      'invalid_request_error',
      'backend',
    );
  }
}

/** Applies settings saved for a model to its freshly loaded engine (throws when they no longer validate). */
export function applySaved(engine: Engine, saved: unknown): void {
  if (typeof saved !== 'object' || saved === null) return;
  const { config, backend } = saved as Partial<SavedPlas>;
  if (backend === 'plas' || backend === 'dense') checkBackend(engine, backend);
  if (config && typeof config === 'object') engine.setPlasConfig(config);
  if (backend === 'plas' || backend === 'dense') engine.setDefaultBackend(backend);
}

export function apiPlasRoutes(app: PlasApp, deps: RouteDeps): void {
  const settings = new ModelSettingsRepository(deps.db);
  const save = (model: string, plas: SavedPlas | null) => {
    const { plas: _old, ...rest } = settings.get(model).settings;
    settings.put(model, plas ? { ...rest, plas } : rest);
  };
  deps.manager.onLoaded(({ name, engine }) => {
    const saved = settings.get(name).settings.plas;
    try {
      applySaved(engine, saved);
    } catch (error) {
      throw new Error(`the PLAS settings saved for it were not applied: ${(error as Error).message}`);
    }
  });

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
  const view = (): PlasState => {
    const { name, engine, model } = engineOrFail();
    const stats = engine.stats();
    const blockSize = engine.plasConfig.plas_block_size;
    const tokens =
      deps.manager.list().find((m) => m.name === name)?.contextLength ?? model.config.maxPositionEmbeddings;
    return {
      model: name,
      backend: stats.attention.backend,
      plasAvailable: stats.attention.plasAvailable,
      gate: stats.attention.gate,
      config: engine.plasConfig,
      bounds: { ...PLAS_BOUNDS, plas_block_size: { fixed: blockSize } },
      /** The context requests are held to: the most blocks (and tokens) a top-k or a limit can matter for. */
      context: { tokens, blocks: Math.ceil(tokens / blockSize) },
      /** What the model loaded with (the Reset button's target). */
      defaults: { backend: engine.config.attention.backend, config: engine.config.attention.plas },
      /** Whether settings are saved for this model (applied when it loads). */
      saved: settings.get(name).settings.plas !== undefined,
    };
  };

  app.get('/api/plas', async () => view());

  app.patch('/api/plas', { schema: { body: PatchBody } }, async (request) => {
    const { name, engine } = engineOrFail();
    const { backend, ...config } = request.body;
    checkBackend(engine, backend);
    engine.setPlasConfig(config);
    if (backend !== undefined) engine.setDefaultBackend(backend);
    save(name, savedOf(engine));
    return view();
  });

  app.post('/api/plas/reset', async () => {
    const { name, engine } = engineOrFail();
    engine.setPlasConfig(engine.config.attention.plas);
    engine.setDefaultBackend(engine.config.attention.backend);
    save(name, null);
    return view();
  });
}
