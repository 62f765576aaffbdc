/**
 * GET /v1/models and GET /v1/models/:id: the registered models, loaded first, in OpenAI's list shape with vLLM's
 * `max_model_len` (apps size their context from it). Model names may contain slashes ("Qwen/Qwen3-0.6B"), so the
 * single-model route takes the rest of the path.
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
  };
}

/** The models, plus --served-model-name as an alias of the default model (listed first, as vLLM lists it). */
function listModels(ctx: ServerContext) {
  const models = ctx.models.list();
  const data = models.map((m) => modelObject(m));
  const alias = ctx.settings.servedModelName;
  const target =
    models.find((m) => m.name === ctx.models.defaultModel) ?? (models.length === 1 ? models[0] : undefined);
  if (alias && target && alias !== target.name) data.unshift(modelObject(target, alias));
  return data;
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
