/**
 * The provider's model id in forwarded answers becomes the one the client asked for ("NAME/MODEL"): in a JSON body,
 * and line by line in a stream however TCP cut it (at every byte, inside a line or a character), with anything that
 * is not a JSON data line naming a model passed through byte for byte.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  renameModelInJson,
  renameModelInLine,
  SseModelRewriter,
} from '../../../../main/server/providers/model-rewrite.ts';

const ASKED = 'box/plas-mini';

const chatChunk = (content: string) =>
  JSON.stringify({
    id: 'c1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'plas-mini',
    choices: [{ index: 0, delta: { content } }],
  });

const STREAM = [
  `data: ${chatChunk('Café ☕ "model":"x"')}\n\n`,
  ': keep-alive "model":"plas-mini"\n\n',
  'data: not json "model":"plas-mini"\n\n',
  'event: response.created\n',
  `data: ${JSON.stringify({ type: 'response.created', response: { id: 'r', model: 'plas-mini', status: 'in_progress' } })}\n\n`,
  `data:${JSON.stringify({ object: 'text_completion', model: 'plas-mini', choices: [{ text: 'x' }] })}\r\n\r\n`,
  `data: ${JSON.stringify({ type: 'response.output_text.delta', delta: 'no model here' })}\n\n`,
  'data: [DONE]\n\n',
].join('');

const EXPECTED = [
  `data: ${chatChunk('Café ☕ "model":"x"').replace('"model":"plas-mini"', `"model":"${ASKED}"`)}\n\n`,
  ': keep-alive "model":"plas-mini"\n\n',
  'data: not json "model":"plas-mini"\n\n',
  'event: response.created\n',
  `data: ${JSON.stringify({ type: 'response.created', response: { id: 'r', model: ASKED, status: 'in_progress' } })}\n\n`,
  `data: ${JSON.stringify({ object: 'text_completion', model: ASKED, choices: [{ text: 'x' }] })}\r\n\r\n`,
  `data: ${JSON.stringify({ type: 'response.output_text.delta', delta: 'no model here' })}\n\n`,
  'data: [DONE]\n\n',
].join('');

function run(chunks: Buffer[]): { out: string; pieces: string[] } {
  const r = new SseModelRewriter(ASKED);
  const pieces = chunks.map((c) => r.push(c));
  pieces.push(r.end());
  return { out: pieces.join(''), pieces };
}

describe('model ids in forwarded answers', () => {
  it('a JSON body: top-level model and response.model; anything else untouched', () => {
    const chat = renameModelInJson(
      JSON.stringify({ object: 'chat.completion', model: 'plas-mini', choices: [] }),
      ASKED,
    );
    assert.equal(JSON.parse(chat).model, ASKED);
    const resp = JSON.parse(
      renameModelInJson(JSON.stringify({ object: 'response', model: 'm', response: { model: 'm' } }), ASKED),
    );
    assert.equal(resp.model, ASKED);
    assert.equal(resp.response.model, ASKED);
    for (const same of ['not json', '{"object":"list"}', '[{"model":"m"}]', '{"model":3}']) {
      assert.equal(renameModelInJson(same, ASKED), same);
    }
    assert.equal(renameModelInLine('data: {"model":"m"', ASKED), 'data: {"model":"m"', 'cut JSON passes');
    assert.equal(renameModelInLine('data: [DONE]', ASKED), 'data: [DONE]');
  });

  it('a stream in one piece', () => {
    assert.equal(run([Buffer.from(STREAM)]).out, EXPECTED);
  });

  it('a stream cut at every byte (mid-line, mid-character) into two reads, and into three', () => {
    const bytes = Buffer.from(STREAM);
    for (let i = 1; i < bytes.length; i++) {
      assert.equal(run([bytes.subarray(0, i), bytes.subarray(i)]).out, EXPECTED, `cut at ${i}`);
    }
    for (let i = 1; i < bytes.length; i += 7) {
      for (let j = i + 1; j < bytes.length; j += 13) {
        const { out } = run([bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)]);
        assert.equal(out, EXPECTED, `cut at ${i} and ${j}`);
      }
    }
  });

  it('one byte per read', () => {
    const bytes = Buffer.from(STREAM);
    assert.equal(run([...bytes].map((b) => Buffer.from([b]))).out, EXPECTED);
  });

  it('sends each complete line at once: only an incomplete one waits', () => {
    const line = `data: ${chatChunk('a')}\n`;
    const r = new SseModelRewriter(ASKED);
    assert.equal(r.push(Buffer.from(line)), line.replace('"plas-mini"', `"${ASKED}"`), 'a whole line goes out');
    assert.equal(r.push(Buffer.from('\ndata: {"model":"pl')), '\n', 'the blank line goes, the half line waits');
    assert.equal(r.push(Buffer.from('as-mini"}\n')), `data: {"model":"${ASKED}"}\n`);
    assert.equal(r.push(Buffer.from('data: {"model":"x"}')), '', 'no line break yet');
    assert.equal(r.end(), `data: {"model":"${ASKED}"}`, 'the last line without its break, at the end');
  });

  it('a line with no break for megabytes passes through as it comes, not held', () => {
    const r = new SseModelRewriter(ASKED);
    const big = Buffer.alloc(5 * 1024 * 1024, 'a');
    const head = r.push(Buffer.from('data: "'));
    const out = head + r.push(big);
    assert.equal(out.length, 7 + big.length, 'passed on once longer than the limit');
    assert.equal(r.push(Buffer.from('tail"\ndata: {"model":"m"}\n')), `tail"\ndata: {"model":"${ASKED}"}\n`);
  });
});
