/**
 * GET /v1/models and GET /v1/models/:id: the registered models, loaded first, in OpenAI's list shape with vLLM's
 * `max_model_len` (apps size their context from it), then the providers' models as "NAME/MODEL" (a down provider's
 * models stay listed, `available: false` with the reason). Model names may contain slashes ("Qwen/Qwen3-0.6B"), so
 * the single-model route takes the rest of the path.
 */
import type { ModelSummary, ServerContext } from '../context.ts';
import type { V1App } from './index.ts';
import { modelNotFound } from './openai-error.ts';

const OWNER = 'plas-studio';

function modelObject(m: ModelSummary, id = m.name) {
  return {
    id,
    object: 'model',
    created: Math.floor(m.addedAt / 1000),
    owned_by: OWNER,
    root: m.name,
    parent: null,
    max_model_len: m.contextLength,
    // Ours: what the app's model list shows.
    loaded: m.loaded,
    architecture: m.architecture,
    parameters: m.parameters,
    dtype: m.dtype,
    provider: null,
    available: true,
    unavailable_reason: null,
  };
}

/** The providers' models (notes/providers.md); a local model of the same exact name hides one. */
function providerModels(ctx: ServerContext, local: Set<string>) {
  return (ctx.providers?.models() ?? [])
    .filter((m) => !local.has(m.id))
    .map((m) => ({
      id: m.id,
      object: 'model',
      created: 0,
      owned_by: m.provider,
      root: m.id,
      parent: null,
      provider: m.provider,
      provider_kind: m.kind,
      available: m.available,
      unavailable_reason: m.available ? null : m.reason,
    }));
}

/** The models, plus --served-model-name as an alias of the default model (listed first, as vLLM lists it). */
function listModels(ctx: ServerContext) {
  const models = ctx.models.list();
  const data = models.map((m) => modelObject(m));
  const alias = ctx.settings.servedModelName;
  const target =
    models.find((m) => m.name === ctx.models.defaultModel) ?? (models.length === 1 ? models[0] : undefined);
  if (alias && target && alias !== target.name) data.unshift(modelObject(target, alias));
  return [...data, ...providerModels(ctx, new Set(data.map((m) => m.id)))];
}

export function registerModels(app: V1App, ctx: ServerContext): void {
  app.get('/v1/models', async () => ({ object: 'list', data: listModels(ctx) }));
  app.get('/v1/models/*', async (request) => {
    const id = (request.params as { '*': string })['*'];
    const found = listModels(ctx).find((m) => m.id === id);
    if (!found) throw modelNotFound(id);
    return found;
  });
}
