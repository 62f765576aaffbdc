/**
 * Clients that go away, and many at once, on the real server: a disconnect (streamed or not) aborts the request and
 * its KV pages are free again at once; a paused reader holds only itself; 32 concurrent streams all complete.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { bearer, http } from '../server-fixture.ts';
import { engineOf, eventually, MODEL, startV1Server, type V1Server, withExtras } from './helpers.ts';

let s: V1Server;
before(async () => {
  s = await startV1Server();
});
after(() => s?.stop());

const long = { model: MODEL, temperature: 0, max_tokens: 400, ignore_eos: true };
const pagesFree = () => {
  const kv = engineOf(s).stats().kv;
  return kv.freePages === kv.numPages;
};

/** POST a body and return the raw request and its response (not read). */
function open(
  path: string,
  body: unknown,
): Promise<{ req: ReturnType<typeof request>; res: import('node:http').IncomingMessage }> {
  const raw = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: s.port,
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(raw) },
      },
      (res) => resolve({ req, res }),
    );
    req.on('error', (e) => {
      if ((e as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(e);
    });
    req.end(raw);
  });
}

describe('disconnects and load', () => {
  it('a non-streamed request whose client disconnects is aborted and frees its pages', async () => {
    const raw = JSON.stringify({ ...long, messages: [{ role: 'user', content: 'go on and on' }] });
    const req = request({
      host: '127.0.0.1',
      port: s.port,
      path: '/v1/chat/completions',
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(raw) },
    });
    req.on('error', () => {});
    req.end(raw);
    await eventually(() => engineOf(s).stats().running === 1, 'the request runs');
    assert.ok(!pagesFree());
    req.destroy();
    await eventually(pagesFree, 'its pages are free');
    await eventually(() => engineOf(s).stats().running === 0, 'nothing runs');
  });

  it('a stream whose client aborts is ended and frees its pages', async () => {
    const controller = new AbortController();
    const stream = await s.client.chat.completions.create(
      withExtras({ ...long, messages: [{ role: 'user' as const, content: 'stream on' }], stream: true as const }, {}),
      { signal: controller.signal },
    );
    let chunks = 0;
    try {
      for await (const _ of stream) {
        if (++chunks === 3) controller.abort();
      }
    } catch (error) {
      assert.match(String(error), /abort/i);
    }
    await eventually(pagesFree, 'its pages are free');
    // The request log keeps what the stopped request did generate (at least the 2 tokens the client read).
    const logged = async () =>
      (await http(s.port, '/api/requests', { headers: bearer(s.server.token) })).json().requests[0];
    let entry = await logged();
    for (let i = 0; i < 100 && entry?.outcome !== 'abort'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      entry = await logged();
    }
    assert.equal(entry?.outcome, 'abort', 'the stopped request is logged');
    assert.equal(entry.status, 499);
    assert.ok(entry.completionTokens >= 2, `logged ${entry.completionTokens} completion tokens`);
    assert.ok(entry.promptTokens > 0, `logged ${entry.promptTokens} prompt tokens`);
  });

  it('a paused reader holds only itself: another request completes meanwhile', async () => {
    const slow = await open('/v1/completions', { ...long, prompt: 'slow reader', stream: true });
    slow.res.pause();
    const quick = await s.client.completions.create(
      withExtras({ model: MODEL, prompt: 'quick', temperature: 0, max_tokens: 4 }, { ignore_eos: true }),
    );
    assert.equal(quick.usage?.completion_tokens, 4);
    slow.req.destroy();
    await eventually(pagesFree, 'the paused request is gone and its pages free');
  });

  it('32 concurrent streams all complete with their tokens', async () => {
    const results = await Promise.all(
      Array.from({ length: 32 }, async (_, i) => {
        const stream = await s.client.chat.completions.create(
          withExtras(
            {
              model: MODEL,
              messages: [{ role: 'user' as const, content: `request number ${i}` }],
              temperature: 0,
              max_tokens: 4,
              stream: true as const,
              stream_options: { include_usage: true },
            },
            { ignore_eos: true },
          ),
        );
        let finish: string | null = null;
        let usage: number | undefined;
        for await (const c of stream) {
          finish = c.choices[0]?.finish_reason ?? finish;
          if (c.usage) usage = c.usage.completion_tokens;
        }
        return { finish, usage };
      }),
    );
    for (const r of results) assert.deepEqual(r, { finish: 'length', usage: 4 });
    await eventually(pagesFree, 'every page is free');
  });
});
