/** GET /v1/models and /v1/models/:id, on the real server and with --served-model-name. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { http } from '../server-fixture.ts';
import { MODEL, startScriptedServer, startV1Server, type V1Server } from './helpers.ts';

let s: V1Server;
before(async () => {
  s = await startV1Server();
});
after(() => s?.stop());

describe('models', () => {
  it('lists the registered model with owner and context length; one model by id; 404 for others', async () => {
    const list = await s.client.models.list();
    const model = list.data.find((m) => m.id === MODEL) as unknown as Record<string, unknown>;
    assert.ok(model, JSON.stringify(list.data));
    assert.equal(model.object, 'model');
    assert.equal(model.owned_by, 'plas-studio');
    assert.equal(model.max_model_len, 1024);
    assert.equal(model.loaded, true);
    const one = await s.client.models.retrieve(MODEL);
    assert.equal(one.id, MODEL);
    await assert.rejects(s.client.models.retrieve('nope'), OpenAI.NotFoundError);
    const raw = await http(s.port, '/v1/models/org/nope');
    assert.equal(raw.status, 404);
    assert.equal(raw.json().error.code, 'model_not_found');
  });

  it('--served-model-name is listed as the default model, and answers', async () => {
    const scripted = await startScriptedServer({}, 2048, 'my-assistant');
    try {
      const list = await scripted.client.models.list();
      const ids = list.data.map((m) => m.id);
      assert.deepEqual(ids, ['my-assistant', MODEL]);
      const alias = list.data[0] as unknown as Record<string, unknown>;
      assert.equal(alias.root, MODEL);
      assert.equal(alias.max_model_len, 2048);
      assert.equal((await scripted.client.models.retrieve('my-assistant')).id, 'my-assistant');
    } finally {
      await scripted.close();
    }
  });
});
