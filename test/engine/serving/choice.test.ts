/**
 * Output processing of one choice, without a GPU: detokenization, stop strings held back and flushed, EOS not shown,
 * min_tokens before stop strings, logprobs lined up with the ids shown.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { SamplingRng } from '../../../engine/generation/rng.ts';
import { samplingParams } from '../../../engine/generation/sampling-params.ts';
import { Request } from '../../../engine/scheduler/request.ts';
import { Choice } from '../../../engine/serving/choice.ts';
import { StreamDecoder } from '../../../engine/tokenizer/stream-decoder.ts';
import { Tokenizer } from '../../../engine/tokenizer/tokenizer.ts';
import { writeTinyModel } from '../../fixtures/tiny-model.ts';

let dir: string;
let tokenizer: Tokenizer;
const EOS = 128009;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plas-choice-'));
  await writeTinyModel(dir, { architecture: 'llama', dtype: 'f16', seed: 1 });
  tokenizer = await Tokenizer.fromFolder(dir);
});
after(() => rm(dir, { recursive: true, force: true }));

function choice(extra: Parameters<typeof samplingParams>[0] = {}, topLogprobs?: number): Choice {
  const sampling = samplingParams({ maxTokens: 50, ...extra });
  const request = new Request({ id: 'c', promptTokenIds: [1], maxTokens: 50, eosTokenIds: [EOS], sampling });
  return new Choice({
    index: 0,
    request,
    rng: new SamplingRng(1),
    decoder: new StreamDecoder(tokenizer, { skipSpecialTokens: true }),
    topLogprobs,
    logitBias: undefined,
    plas: null,
    grammar: null,
    arrivedAt: 0,
  });
}

/** Feed `ids` one per step (as the scheduler appends them), the last with finishReason / stop id; returns the text. */
function feed(c: Choice, ids: number[], end: { reason: 'stop' | 'length' | null; stopId?: number }) {
  let text = '';
  let stoppedBy: string | null = null;
  ids.forEach((id, i) => {
    c.request.outputTokenIds.push(id);
    const last = i === ids.length - 1;
    const r = c.process(
      {
        requestId: 'c',
        newTokenIds: [id],
        finishReason: last ? end.reason : null,
        stopTokenId: last ? (end.stopId ?? null) : null,
      },
      [{ id, logprob: -i, top: [] }],
      i,
    );
    text += r.event?.text ?? '';
    stoppedBy ??= r.stoppedBy;
  });
  return { text, stoppedBy };
}

const ids = (s: string) => tokenizer.encode(s, { addSpecialTokens: false });

it('text held back for a stop string is flushed when EOS arrives', () => {
  const c = choice({ stop: ['###'] });
  const out = feed(c, [...ids('a #'), EOS], { reason: 'stop', stopId: EOS });
  assert.equal(out.text, 'a #');
  assert.equal(out.stoppedBy, null);
});

it('and when the length runs out', () => {
  const c = choice({ stop: ['###'] });
  assert.equal(feed(c, ids('a ##'), { reason: 'length' }).text, 'a ##');
});

it('a stop string ends the text before it, or after it when asked', () => {
  assert.deepEqual(feed(choice({ stop: ['lo w'] }), ids('hello world'), { reason: null }), {
    text: 'hel',
    stoppedBy: 'lo w',
  });
  assert.equal(
    feed(choice({ stop: ['lo w'], includeStopStrInOutput: true }), ids('hello world'), { reason: null }).text,
    'hello w',
  );
});

it('min_tokens: stop strings are not looked for before it', () => {
  const tokens = ids('ab ab ab');
  assert.equal(feed(choice({ stop: ['ab'], minTokens: tokens.length }), tokens, { reason: 'length' }).text, 'ab ab ab');
});

it('logprobs line up with the ids shown (none for the EOS that ended it)', () => {
  const c = choice({}, 2);
  c.request.outputTokenIds.push(5, EOS);
  const r = c.process(
    { requestId: 'c', newTokenIds: [5, EOS], finishReason: 'stop', stopTokenId: EOS },
    [
      { id: 5, logprob: -1, top: [] },
      { id: EOS, logprob: -2, top: [] },
    ],
    0,
  );
  assert.deepEqual(r.event?.ids, [5]);
  assert.deepEqual(
    r.event?.logprobs?.map((l) => l.id),
    [5],
  );
});
