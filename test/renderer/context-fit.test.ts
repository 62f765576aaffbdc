/**
 * The rolling window a long chat is sent with (renderer/stores/context-fit.ts), on its edge cases. The e2e test in
 * chat-history.test.ts runs it against PLAS Mini's own tokenizer; here a count of one token per character makes
 * each case's answer plain to check by hand.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { ChatMessageIn } from '../../renderer/services/types.ts';
import { fitToContext } from '../../renderer/stores/context-fit.ts';

const turn = (role: ChatMessageIn['role'], content: string): ChatMessageIn => ({ role, content });
/** One token per character, and a context of `max`; records how often it was asked. */
function counter(max: number) {
  const c = {
    calls: 0,
    count: async (messages: ChatMessageIn[]) => {
      c.calls++;
      return { tokens: messages.reduce((n, m) => n + m.content.length, 0), maxContext: max };
    },
  };
  return c;
}

const thread = [
  turn('system', 'SS'),
  turn('user', 'u1u1u1u1u1'), // 10
  turn('assistant', 'a1a1a1a1a1'),
  turn('user', 'u2u2u2u2u2'),
  turn('assistant', 'a2a2a2a2a2'),
  turn('user', 'u3u3u3u3u3'),
];

it('a thread that fits is sent whole, counted once', async () => {
  const c = counter(100);
  const fitted = await fitToContext(thread, 10, c.count);
  assert.deepEqual(fitted, { messages: thread, leftOut: 0 });
  assert.equal(c.calls, 1);
});

it('the fewest oldest turns are left out; the system prompt stays and the first kept turn is a user turn', async () => {
  // 52 tokens; context 45 with 10 for the reply leaves 35: dropping u1 and a1 (20) leaves 32.
  const fitted = await fitToContext(thread, 10, counter(45).count);
  assert.equal(fitted.leftOut, 2);
  assert.deepEqual(
    fitted.messages.map((m) => m.content),
    ['SS', 'u2u2u2u2u2', 'a2a2a2a2a2', 'u3u3u3u3u3'],
  );
  // Dropping only u1 would fit 25 + 10 <= 35 too, but would start the kept thread with an assistant turn.
  const tight = await fitToContext(thread, 10, counter(53).count);
  assert.equal(tight.leftOut, 2, 'never starts with an assistant turn');
});

it('without max_tokens a quarter of the context (at most 512) is kept for the reply', async () => {
  const fitted = await fitToContext(thread, null, counter(60).count); // reserve 15: 52 + 15 > 60, 32 + 15 <= 60
  assert.equal(fitted.leftOut, 2);
});

it('when even the last turn alone does not fit, it is sent with everything else left out (the server says why)', async () => {
  const fitted = await fitToContext(thread, 10, counter(15).count);
  assert.equal(fitted.leftOut, 4);
  assert.deepEqual(
    fitted.messages.map((m) => m.role),
    ['system', 'user'],
  );
  const alone = [turn('user', 'x'.repeat(50))];
  assert.deepEqual(await fitToContext(alone, 10, counter(20).count), { messages: alone, leftOut: 0 });
});

it('a long thread is searched in few counts', async () => {
  const long: ChatMessageIn[] = Array.from({ length: 2000 }, (_, i) => turn(i % 2 ? 'assistant' : 'user', 'xxxxx'));
  const c = counter(1000);
  const fitted = await fitToContext(long, 100, c.count);
  assert.equal(fitted.messages.length, 180); // 900 tokens of 5-token turns
  assert.equal(fitted.messages[0].role, 'user');
  assert.ok(c.calls <= 13, `${c.calls} counts`);
});
