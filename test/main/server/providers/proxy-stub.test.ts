/**
 * Remote providers against a stub that answers as vLLM does (stub-provider.ts), through a real server on loopback:
 * the management API, listing, forwarding (streamed chunk by chunk, non-streamed, with the `plas` field dropped and
 * noted), error mapping, a provider that is down, slow or stalls, one that redirects (the key never follows), the
 * client's disconnect reaching the provider, our own key and Host checks first, and the key never echoed anywhere:
 * API responses, the request log, metrics, the server's log, its stdout and stderr, the database file.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from 'openai';
import { bearer, http, type RequestOptions, startTestServer, type TestServer } from '../server-fixture.ts';
import { closedPort, SPLIT_STREAM_RAW, type StubProvider, startStubProvider } from './stub-provider.ts';

const KEY = 'sk-provider-Secret-7f3a9c2e51d84b06';
const OUR_KEY = 'our-own-api-key-1234';
const TIMEOUTS = { connectMs: 1000, firstByteMs: 800, idleMs: 800, healthMs: 1500, refreshMs: 60_000 };

let server: TestServer;
let stub: StubProvider;
const logLines: string[] = [];
const printed: string[] = [];
/** Every body our server answered with, to grep for the key at the end. */
const answers: string[] = [];
const restore: (() => void)[] = [];

/** Tees stdout and stderr (the server's own prints, if any, land here). */
function captureOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream);
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      printed.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
    restore.push(() => {
      stream.write = original;
    });
  }
}

async function api(path: string, options: RequestOptions = {}) {
  const r = await http(server.port, path, { ...options, headers: { ...bearer(server.token), ...options.headers } });
  answers.push(r.body);
  return r;
}

async function v1(path: string, body: unknown, headers: Record<string, string> = bearer(OUR_KEY)) {
  const r = await http(server.port, path, { method: 'POST', body, headers });
  answers.push(r.body);
  return r;
}

const openai = () => new OpenAI({ baseURL: `${server.url}/v1`, apiKey: OUR_KEY, maxRetries: 0, timeout: 10_000 });

before(async () => {
  captureOutput();
  stub = await startStubProvider();
  server = await startTestServer({
    apiKey: OUR_KEY,
    servedModelName: 'vllm/shadowed', // a local name that looks like a provider's model
    providerTimeouts: TIMEOUTS,
    log: (m) => logLines.push(m),
  });
});

after(async () => {
  await server?.stop();
  await stub?.close();
  for (const r of restore) r();
});

describe('the management API', () => {
  it('adds a provider, checks it at once, and never shows its key', async () => {
    const created = await api('/api/providers', {
      method: 'POST',
      body: { name: 'vllm', baseUrl: `${stub.url}/`, kind: 'vllm', apiKey: KEY },
    });
    assert.equal(created.status, 201, created.body);
    const p = created.json();
    assert.deepEqual(Object.keys(p).sort(), [
      'baseUrl',
      'enabled',
      'hasKey',
      'keyNote',
      'keyReadable',
      'kind',
      'models',
      'name',
      'status',
    ]);
    assert.equal(p.keyNote, null, 'kept as usual: nothing to say');
    assert.equal(p.keyReadable, true);
    assert.equal(p.baseUrl, stub.url); // trailing slash gone, /v1 kept
    assert.equal(p.hasKey, true);
    assert.equal(p.status.state, 'ok');
    assert.equal(typeof p.status.latencyMs, 'number');
    assert.deepEqual(p.models, ['stub-model', 'error-400', 'echo-key']);
    // The check sent the key to the provider's own origin.
    const check = stub.seen.find((s) => s.path === '/v1/models');
    assert.equal(check?.headers.authorization, `Bearer ${KEY}`);

    const list = (await api('/api/providers')).json();
    assert.deepEqual(
      list.providers.map((x: { name: string }) => x.name),
      ['vllm'],
    );
  });

  it('refuses a bad name, URL or kind naming the field, and a duplicate name with 409', async () => {
    const cases: [Record<string, unknown>, number, string][] = [
      [{ name: 'Bad Name', baseUrl: stub.url }, 400, 'name'],
      [{ name: 'x', baseUrl: 'ftp://example.com' }, 400, 'baseUrl'],
      [{ name: 'x', baseUrl: 'not a url' }, 400, 'baseUrl'],
      [{ name: 'x', baseUrl: 'http://user:pw@example.com' }, 400, 'baseUrl'],
      [{ name: 'x', baseUrl: stub.url, kind: 'tgi' }, 400, 'kind'],
      [{ name: 'vllm', baseUrl: stub.url }, 409, 'name'],
    ];
    for (const [body, status, param] of cases) {
      const r = await api('/api/providers', { method: 'POST', body });
      assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.body}`);
      assert.equal(r.json().error.param, param, r.body);
    }
    assert.equal((await api('/api/providers/nope', { method: 'PATCH', body: { enabled: false } })).status, 404);
    assert.equal((await api('/api/providers/nope', { method: 'DELETE' })).status, 404);
  });

  it('patches: a key cleared and set again, disabled and enabled; deletes with 204', async () => {
    await api('/api/providers', { method: 'POST', body: { name: 'tmp', baseUrl: stub.url, apiKey: 'k-temporary' } });
    let p = (await api('/api/providers/tmp', { method: 'PATCH', body: { apiKey: '' } })).json();
    assert.equal(p.hasKey, false);
    p = (await api('/api/providers/tmp', { method: 'PATCH', body: { enabled: false } })).json();
    assert.equal(p.status.state, 'disabled');
    const models = (await http(server.port, '/v1/models', { headers: bearer(OUR_KEY) })).json().data;
    assert.ok(!models.some((m: { id: string }) => m.id.startsWith('tmp/')), 'a disabled provider lists nothing');
    const refused = await v1('/v1/chat/completions', { model: 'tmp/stub-model', messages: [] });
    assert.equal(refused.status, 503);
    assert.equal(refused.json().error.code, 'provider_disabled');
    p = (await api('/api/providers/tmp', { method: 'PATCH', body: { enabled: true } })).json();
    assert.equal(p.status.state, 'ok');
    // Edited (the app's Edit form sends both): checked again at once, even when the address is the same.
    const checkedAt = p.status.checkedAt;
    await sleep(5);
    p = (await api('/api/providers/tmp', { method: 'PATCH', body: { baseUrl: stub.url, kind: 'sglang' } })).json();
    assert.equal(p.kind, 'sglang');
    assert.ok(p.status.checkedAt > checkedAt, 'a fresh health check');
    const bad = await api('/api/providers/tmp', { method: 'PATCH', body: { baseUrl: 'gpu-box:8000' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.json().error.param, 'baseUrl');
    const del = await api('/api/providers/tmp', { method: 'DELETE' });
    assert.equal(del.status, 204);
    assert.equal((await api('/api/providers/tmp/check', { method: 'POST' })).status, 404);
  });
});

describe('/v1 through a provider', () => {
  it('lists its models as NAME/MODEL beside the local ones', async () => {
    const r = await http(server.port, '/v1/models', { headers: bearer(OUR_KEY) });
    answers.push(r.body);
    const m = r.json().data.find((x: { id: string }) => x.id === 'vllm/stub-model');
    assert.ok(m, r.body);
    assert.equal(m.owned_by, 'vllm');
    assert.equal(m.provider, 'vllm');
    assert.equal(m.available, true);
    assert.equal(m.unavailable_reason, null);
    const one = await http(server.port, '/v1/models/vllm/stub-model', { headers: bearer(OUR_KEY) });
    assert.equal(one.json().id, 'vllm/stub-model');
  });

  it('forwards a chat (openai client): the provider gets its model id and its key, never ours; vLLM fields pass', async () => {
    const before = stub.seen.length;
    const reply = await openai().chat.completions.create({
      model: 'vllm/stub-model',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 8,
    });
    assert.equal(reply.choices[0].message.content, 'Hello from the stub.');
    assert.equal(reply.model, 'vllm/stub-model', "the answer names the model asked for, not the provider's id");
    assert.equal((reply as unknown as { kv_transfer_params: unknown }).kv_transfer_params, null);
    const got = stub.seen[before];
    assert.equal(got.path, '/v1/chat/completions');
    assert.equal(got.body.model, 'stub-model');
    assert.equal(got.headers.authorization, `Bearer ${KEY}`);
    assert.ok(!JSON.stringify(got.headers).includes(OUR_KEY));
    assert.equal(got.headers.host, `127.0.0.1:${stub.port}`);
  });

  it('drops our `plas` field, with the note in a header and in the JSON body', async () => {
    const before = stub.seen.length;
    const r = await v1('/v1/chat/completions', {
      model: 'vllm/stub-model',
      messages: [{ role: 'user', content: 'Hi' }],
      plas: { plas_decoder_top_k_left: 4 },
      vllm_only_field: 'kept', // a provider's own fields are its business
    });
    assert.equal(r.status, 200, r.body);
    assert.match(String(r.headers['x-plas-note']), /"plas" field was not forwarded: provider "vllm"/);
    assert.match(r.json().plas_note, /not forwarded/);
    assert.equal(r.json().choices[0].message.content, 'Hello from the stub.');
    assert.equal(stub.seen[before].body.plas, undefined);
    assert.equal(stub.seen[before].body.vllm_only_field, 'kept');
  });

  it('streams chunk by chunk: the first chunk reaches the client while the provider still holds the rest', async () => {
    const stream = await openai().chat.completions.create({
      model: 'vllm/gated',
      messages: [{ role: 'user', content: 'Hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const texts: string[] = [];
    let released = false;
    for await (const c of stream) {
      assert.equal(c.model, 'vllm/gated');
      if (c.choices[0]?.delta?.content) texts.push(c.choices[0].delta.content);
      if (!released) {
        // The stub sends nothing more until released: this chunk came through on its own.
        assert.deepEqual(texts, ['Hello']);
        released = true;
        stub.release();
      }
    }
    assert.deepEqual(texts, ['Hello', ' token0', ' token1', ' token2']);
    const log = (await api('/api/requests')).json();
    const entry = (log.requests ?? log).find((e: { model: string }) => e.model === 'vllm/gated');
    assert.ok(entry, JSON.stringify(log));
    assert.equal(entry.status, 200);
    assert.equal(entry.route, '/v1/chat/completions');
    assert.equal(entry.completionTokens, 4);
    assert.equal(entry.outcome, 'stop');
  });

  it('names the model asked for in completions and the Responses API, streamed and not', async () => {
    const text = await v1('/v1/completions', { model: 'vllm/stub-model', prompt: 'Once', max_tokens: 2 });
    assert.equal(text.status, 200, text.body);
    assert.equal(text.json().object, 'text_completion');
    assert.equal(text.json().model, 'vllm/stub-model');
    const textStream = await openai().completions.create({ model: 'vllm/stub-model', prompt: 'Once', stream: true });
    const pieces: string[] = [];
    for await (const c of textStream) {
      assert.equal(c.model, 'vllm/stub-model');
      pieces.push(c.choices[0].text);
    }
    assert.deepEqual(pieces, ['Once', ' upon']);

    const resp = await openai().responses.create({ model: 'vllm/stub-model', input: 'Hi' });
    assert.equal(resp.model, 'vllm/stub-model');
    assert.equal(resp.output_text, 'Hi there');
    const events = await openai().responses.create({ model: 'vllm/stub-model', input: 'Hi', stream: true });
    const seen: string[] = [];
    for await (const e of events) {
      seen.push(e.type);
      if (e.type === 'response.created' || e.type === 'response.completed') {
        assert.equal(e.response.model, 'vllm/stub-model', e.type);
      }
    }
    assert.deepEqual(seen, ['response.created', 'response.output_text.delta', 'response.completed']);
  });

  it('a stream cut mid-line and mid-character by TCP: each event rewritten whole, sent before the stream ends', async () => {
    const reads: { at: number; text: string }[] = [];
    const t0 = performance.now();
    const status = await new Promise<number>((resolve, reject) => {
      const body = JSON.stringify({ model: 'vllm/split-stream', messages: [], stream: true });
      const req = request(
        {
          host: '127.0.0.1',
          port: server.port,
          path: '/v1/chat/completions',
          method: 'POST',
          headers: { ...bearer(OUR_KEY), 'content-type': 'application/json' },
        },
        (res) => {
          res.on('data', (c: Buffer) => reads.push({ at: performance.now() - t0, text: c.toString('latin1') }));
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(status, 200);
    const got = Buffer.from(reads.map((r) => r.text).join(''), 'latin1').toString('utf8');
    // Only JSON data lines change; the comment and the non-JSON data line keep the provider's id, byte for byte.
    const expected = SPLIT_STREAM_RAW.split('\n')
      .map((line) =>
        line.startsWith('data: {') ? line.replaceAll('"model":"split-stream"', '"model":"vllm/split-stream"') : line,
      )
      .join('\n');
    assert.equal(got, expected);
    assert.match(got, /"content":"Café ☕"/);
    assert.match(got, /: a comment line, "model":"split-stream"\n/);
    assert.match(got, /data: not json, but it says "model":"split-stream"\n/);
    // Not held to the end: the first event was out while the stub still had 90 ms of writes to go.
    const firstEventAt = (() => {
      let sofar = '';
      for (const r of reads) {
        sofar += r.text;
        if (sofar.includes('\n\n')) return r.at;
      }
      return Number.NaN;
    })();
    assert.ok(reads.length >= 3, `${reads.length} reads`);
    assert.ok(
      firstEventAt < reads[reads.length - 1].at - 40,
      `first event at ${firstEventAt} ms, end at ${reads.at(-1)?.at}`,
    );
  });

  it("maps the provider's errors to OpenAI's shape, naming the provider", async () => {
    const r = await v1('/v1/chat/completions', { model: 'vllm/error-400', messages: [] });
    assert.equal(r.status, 400);
    const e = r.json().error;
    assert.equal(e.message, 'Provider "vllm": This model\'s maximum context length is 4096 tokens.');
    assert.equal(e.code, 'provider_error');
    assert.equal(e.type, 'invalid_request_error');
    // Through the SDK too.
    await assert.rejects(
      openai().chat.completions.create({ model: 'vllm/error-400', messages: [{ role: 'user', content: 'x' }] }),
      (error: InstanceType<typeof OpenAI.APIError>) =>
        error.status === 400 && /^Provider "vllm": /.test(error.message.replace(/^400 /, '')),
    );
  });

  it('cuts the key out of a provider error that echoes it', async () => {
    const r = await v1('/v1/chat/completions', { model: 'vllm/echo-key', messages: [] });
    assert.equal(r.status, 401);
    assert.ok(!r.body.includes(KEY), r.body);
    assert.match(r.json().error.message, /^Provider "vllm": Invalid API key: Bearer \[redacted\]/);
  });

  it("a local model's exact name wins over the provider prefix", async () => {
    const before = stub.seen.length;
    const r = await v1('/v1/chat/completions', { model: 'vllm/shadowed', messages: [{ role: 'user', content: 'x' }] });
    assert.equal(stub.seen.length, before, 'not forwarded');
    assert.doesNotMatch(r.json().error?.message ?? '', /Provider "vllm"/);
  });

  it('checks our own API key and Host before forwarding anything', async () => {
    const before = stub.seen.length;
    const noKey = await v1('/v1/chat/completions', { model: 'vllm/stub-model', messages: [] }, {});
    assert.equal(noKey.status, 401);
    const evil = await v1(
      '/v1/chat/completions',
      { model: 'vllm/stub-model', messages: [] },
      { ...bearer(OUR_KEY), host: 'evil.example' },
    );
    assert.equal(evil.status, 403);
    assert.equal(stub.seen.length, before, 'nothing reached the provider');
  });

  it('a provider that never answers times out (504) within the stated time', async () => {
    const t0 = performance.now();
    const r = await v1('/v1/chat/completions', { model: 'vllm/slow', messages: [] });
    const ms = performance.now() - t0;
    assert.equal(r.status, 504, r.body);
    assert.equal(r.json().error.code, 'provider_timeout');
    assert.match(r.json().error.message, /^Provider "vllm": no answer from http:\/\/127\.0\.0\.1:\d+ within 0\.8 s/);
    assert.ok(ms >= 700 && ms < 3000, `${ms} ms`);
  });

  it('a stream that stalls ends with an error event saying so', async () => {
    const stream = await openai().chat.completions.create({
      model: 'vllm/stall',
      messages: [{ role: 'user', content: 'Hi' }],
      stream: true,
    });
    const got: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const c of stream) got.push(c.choices[0]?.delta?.content ?? '');
      })(),
      /Provider "vllm": its answer stalled for 0\.8 s/,
    );
    assert.deepEqual(got, ['Hello']);
  });

  it("the client's disconnect closes the provider's connection (streamed and not)", async () => {
    for (const stream of [true, false]) {
      const before = stub.seen.length;
      const closed = new Promise<void>((resolve, reject) => {
        const body = JSON.stringify({ model: `vllm/${stream ? 'slow-stream' : 'slow'}`, messages: [], stream });
        const req = request(
          {
            host: '127.0.0.1',
            port: server.port,
            path: '/v1/chat/completions',
            method: 'POST',
            headers: { ...bearer(OUR_KEY), 'content-type': 'application/json', host: `127.0.0.1:${server.port}` },
          },
          (res) => {
            res.once('data', () => {
              req.destroy(); // the first chunk came: leave
              resolve();
            });
          },
        );
        req.on('error', () => {});
        req.end(body);
        if (!stream) {
          // No chunk ever comes: leave once the provider has the request.
          const wait = setInterval(() => {
            if (stub.seen.length > before) {
              clearInterval(wait);
              req.destroy();
              resolve();
            }
          }, 10);
          setTimeout(() => reject(new Error('the provider never got the request')), 3000).unref();
        }
      });
      await closed;
      const seen = stub.seen[before];
      const t0 = performance.now();
      const early = await Promise.race([seen.closedEarly, sleep(2000).then(() => 'timeout')]);
      assert.equal(early, true, `stream ${stream}: the provider's connection was not closed`);
      assert.ok(performance.now() - t0 < 2000);
    }
    await sleep(50);
    const log = (await api('/api/requests')).json();
    const aborted = (log.requests ?? log).filter((e: { outcome: string }) => e.outcome === 'abort');
    assert.ok(aborted.length >= 2, JSON.stringify(log));
    assert.equal(aborted[0].status, 499);
    // Leaving is the client's doing: the provider is not marked down for it.
    const vllm = (await api('/api/providers')).json().providers.find((p: { name: string }) => p.name === 'vllm');
    assert.equal(vllm.status.state, 'ok', JSON.stringify(vllm.status));
  });
});

describe('a provider that is down or redirects', () => {
  it('down: listed unavailable with the reason, and a request fails fast (502)', async () => {
    const other = await startStubProvider();
    await api('/api/providers', { method: 'POST', body: { name: 'flaky', baseUrl: other.origin, apiKey: KEY } });
    await other.close();
    const checked = (await api('/api/providers/flaky/check', { method: 'POST' })).json();
    assert.equal(checked.status.state, 'down');
    assert.match(checked.status.error, /^Provider "flaky": connection refused at http:\/\/127\.0\.0\.1:\d+/);
    assert.deepEqual(checked.models, ['stub-model', 'error-400', 'echo-key'], 'the last known models stay');
    const models = (await http(server.port, '/v1/models', { headers: bearer(OUR_KEY) })).json().data;
    const m = models.find((x: { id: string }) => x.id === 'flaky/stub-model');
    assert.equal(m.available, false);
    assert.match(m.unavailable_reason, /connection refused/);
    const t0 = performance.now();
    const r = await v1('/v1/chat/completions', { model: 'flaky/stub-model', messages: [] });
    assert.equal(r.status, 502);
    assert.equal(r.json().error.code, 'provider_unreachable');
    assert.match(r.json().error.message, /^Provider "flaky": connection refused/);
    assert.ok(performance.now() - t0 < 1000);

    // Never reachable at all: down from the first check, with nothing listed.
    const port = await closedPort();
    const never = (
      await api('/api/providers', { method: 'POST', body: { name: 'never', baseUrl: `http://127.0.0.1:${port}/v1` } })
    ).json();
    assert.equal(never.status.state, 'down');
    assert.deepEqual(never.models, []);
  });

  it('redirects are not followed: the key never reaches the other host', async () => {
    const sink = await startStubProvider();
    const redirecting = await startStubProvider({ redirectTo: sink.origin });
    try {
      const p = (
        await api('/api/providers', {
          method: 'POST',
          body: { name: 'moved', baseUrl: redirecting.url, apiKey: KEY },
        })
      ).json();
      assert.equal(p.status.state, 'down');
      assert.match(p.status.error, new RegExp(`redirect \\(307\\) to ${sink.origin}; it was not followed`));
      const r = await v1('/v1/chat/completions', { model: 'moved/stub-model', messages: [] });
      assert.equal(r.status, 502);
      assert.equal(r.json().error.code, 'provider_redirect');
      assert.match(r.json().error.message, new RegExp(`^Provider "moved": .* to ${sink.origin};`));
      assert.ok(redirecting.seen.length >= 2);
      assert.equal(redirecting.seen[0].headers.authorization, `Bearer ${KEY}`);
      assert.equal(sink.seen.length, 0, 'the redirect target saw no request, so no Authorization');
    } finally {
      await redirecting.close();
      await sink.close();
    }
  });
});

describe('FastDeploy launch config', () => {
  it("gives the model's saved PLAS ranges as --plas-attention-config and a launch command", async () => {
    await api('/api/providers', {
      method: 'POST',
      body: { name: 'fd', baseUrl: 'http://127.0.0.1:8180/v1', kind: 'fastdeploy' },
    });
    const plas = {
      config: {
        plas_encoder_top_k_left: 20,
        plas_encoder_top_k_right: 30,
        plas_decoder_top_k_left: 40,
        plas_decoder_top_k_right: 48,
        plas_use_encoder_seq_limit: 2560,
        plas_use_decoder_seq_limit: 5120,
        iterations: 8,
        denseLastLayer: true,
      },
      backend: 'plas',
    };
    assert.equal(
      (await api('/api/model-settings/my-model', { method: 'PUT', body: { settings: { plas } } })).status,
      200,
    );
    const r = await api('/api/providers/fd/plas-config?model=my-model');
    assert.equal(r.status, 200, r.body);
    const x = r.json();
    assert.deepEqual(x.config, {
      plas_encoder_top_k_left: 20,
      plas_encoder_top_k_right: 30,
      plas_decoder_top_k_left: 40,
      plas_decoder_top_k_right: 48,
      plas_use_encoder_seq_limit: 2560,
      plas_use_decoder_seq_limit: 5120,
      plas_block_size: 128,
    });
    assert.deepEqual(JSON.parse(x.json), x.config);
    assert.equal(x.saved, true);
    assert.equal(
      x.command,
      `FD_ATTENTION_BACKEND=PLAS_ATTN python -m fastdeploy.entrypoints.openai.api_server --model my-model --port 8180 --plas-attention-config '${x.json}'`,
    );
    const notFd = await api('/api/providers/vllm/plas-config?model=my-model');
    assert.equal(notFd.status, 400);
    assert.equal(notFd.json().error.param, 'name');
    const noModel = await api('/api/providers/fd/plas-config?model=nobody');
    assert.equal(noModel.status, 404);
    assert.equal(noModel.json().error.param, 'model');
  });
});

describe('the key stays secret', () => {
  it('appears in no API response, request log, metrics, log line, stdout/stderr, or the database file', async () => {
    answers.push((await api('/api/providers')).body);
    answers.push((await api('/api/requests')).body);
    answers.push((await api('/api/settings')).body);
    answers.push((await http(server.port, '/metrics', { headers: bearer(OUR_KEY) })).body);
    const places: [string, string][] = [
      ['API responses', answers.join('\n')],
      ['server log', logLines.join('\n')],
      ['stdout/stderr', printed.join('')],
      ['database', readFileSync(join(server.dataDir, 'plas.db')).toString('latin1')],
    ];
    for (const file of ['plas.db-wal']) {
      try {
        places.push([file, readFileSync(join(server.dataDir, file)).toString('latin1')]);
      } catch {}
    }
    for (const [where, text] of places) assert.ok(!text.includes(KEY), `the key is in the ${where}`);
    assert.ok(answers.join('').includes('"hasKey":true'), 'the responses were captured');
    assert.ok(
      logLines.some((l) => l.includes('provider flaky is down')),
      'the log was captured',
    );
  });
});
