/**
 * Presets and per-model settings (token-guarded, see auth.ts):
 *   GET    /api/presets                            {presets}: by name
 *   POST   /api/presets {name, systemPrompt?, sampling?}   201 preset (409 when the name is taken, any case)
 *   PATCH  /api/presets/:id {name?, systemPrompt?, sampling?}   the preset
 *   DELETE /api/presets/:id                        {deleted}
 *   GET    /api/model-settings/:model              {model, settings, updatedAt} ({} and null when none saved)
 *   PUT    /api/model-settings/:model {settings}   replaces them whole: {model, settings, updatedAt}
 * A model name may hold slashes ("org/model"): send it as it is or URL-encoded; everything after the prefix is the name.
 */
import type { ChatStore } from '../../store/chat-store.ts';
import { HttpError } from '../http-error.ts';
import { IdParams, ModelSettingsPut, PresetCreate, PresetPatch } from './chat-schemas.ts';
import { store } from './chat-store-errors.ts';
import type { PlasApp } from './deps.ts';

const MAX_MODEL_NAME = 256;

/** The model name from the wildcard; a name is only ever a key here, never a path. */
function modelName(raw: string | undefined): string {
  const name = raw ?? '';
  if (name.length === 0 || name.length > MAX_MODEL_NAME || /\p{Cc}/u.test(name)) {
    throw new HttpError(
      400,
      `model: must be 1-${MAX_MODEL_NAME} characters without control characters`,
      'invalid_request_error',
      'model',
    );
  }
  return name;
}

export function apiPresetRoutes(
  app: PlasApp,
  { presets, modelSettings }: Pick<ChatStore, 'presets' | 'modelSettings'>,
) {
  app.get('/api/presets', async () => ({ presets: presets.list() }));

  app.post('/api/presets', { schema: { body: PresetCreate } }, async (request, reply) =>
    reply.code(201).send(store(() => presets.create(request.body))),
  );

  app.patch('/api/presets/:id', { schema: { params: IdParams, body: PresetPatch } }, async (request) =>
    store(() => presets.update(request.params.id, request.body)),
  );

  app.delete('/api/presets/:id', { schema: { params: IdParams } }, async (request) => {
    const { id } = request.params;
    if (!presets.remove(id)) {
      throw new HttpError(404, `no preset with id ${JSON.stringify(id)}`, 'not_found_error', 'id', 'not_found');
    }
    return { deleted: id };
  });

  app.get('/api/model-settings/*', async (request) =>
    modelSettings.get(modelName((request.params as { '*'?: string })['*'])),
  );

  app.put('/api/model-settings/*', { schema: { body: ModelSettingsPut } }, async (request) =>
    modelSettings.put(modelName((request.params as { '*'?: string })['*']), request.body.settings),
  );
}
