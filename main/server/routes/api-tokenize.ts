/**
 * POST /api/tokenize {model, text} | {model, messages}  ->  {model, tokens, maxContext}
 * Token counts for the Chat page's attachment chips and context meter. `text` is counted as it is (no special
 * tokens); `messages` are rendered with the model's chat template and encoded exactly as /v1/chat/completions
 * renders its prompt (chat-messages.ts + engine/chat/render.ts, generation prompt included), so the meter shows what
 * the next request will cost. A model that is not loaded is counted with the tokenizer read from its registered
 * folder (no GPU needed); when that folder cannot give one, a 409 says why.
 */
import { type Static, Type } from 'typebox';
import { renderChat } from '../../../engine/chat/render.ts';
import { ChatTemplateError, NoChatTemplateError } from '../../../engine/tokenizer/errors.ts';
import { Tokenizer } from '../../../engine/tokenizer/tokenizer.ts';
import { HttpError } from '../http-error.ts';
import { chatMessages } from '../v1/chat-messages.ts';
import { ChatMessageIn } from '../v1/schemas/chat.ts';
import type { PlasApp, RouteDeps } from './deps.ts';

const TokenizeBody = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: 256 }),
    text: Type.Optional(Type.String()),
    messages: Type.Optional(Type.Array(ChatMessageIn, { maxItems: 100_000 })),
  },
  { additionalProperties: false },
);
type TokenizeBody = Static<typeof TokenizeBody>;

/** Tokenizers read from folders of models that are not loaded, newest use last (a few MB of vocabulary each). */
const CACHE_SIZE = 4;

export function apiTokenizeRoutes(app: PlasApp, deps: Pick<RouteDeps, 'manager'>): void {
  const folders = new Map<string, Promise<Tokenizer>>();

  async function tokenizerOf(name: string, path: string): Promise<Tokenizer> {
    const loaded = deps.manager.loaded();
    if (loaded?.name === name) return loaded.model.tokenizer;
    let pending = folders.get(path);
    if (pending) folders.delete(path); // re-inserted below as the newest
    pending ??= Tokenizer.fromFolder(path);
    folders.set(path, pending);
    while (folders.size > CACHE_SIZE) folders.delete(folders.keys().next().value as string);
    try {
      return await pending;
    } catch (error) {
      folders.delete(path); // a fixed folder is read again next time
      throw new HttpError(
        409,
        `model '${name}' is not loaded and its tokenizer could not be read from its folder (${(error as Error).message}): load the model to count its tokens`,
        'invalid_request_error',
        'model',
        'tokenizer_unavailable',
      );
    }
  }

  app.post('/api/tokenize', { schema: { body: TokenizeBody } }, async (request) => {
    const body: TokenizeBody = request.body;
    if ((body.text === undefined) === (body.messages === undefined)) {
      throw new HttpError(400, 'give either text or messages (exactly one of them)', 'invalid_request_error', 'text');
    }
    const summary = deps.manager.get(body.model); // UnknownModelError: a 404 naming the model
    const tokenizer = await tokenizerOf(summary.name, summary.path);
    let tokens: number;
    if (body.text !== undefined) {
      tokens = tokenizer.encode(body.text, { addSpecialTokens: false }).length;
    } else {
      try {
        // The template writes its special tokens itself (BOS included), as renderPrompt does for /v1.
        const prompt = renderChat(tokenizer, chatMessages(body.messages ?? []), { addGenerationPrompt: true });
        tokens = tokenizer.encode(prompt, { addSpecialTokens: false }).length;
      } catch (error) {
        if (error instanceof NoChatTemplateError || error instanceof ChatTemplateError) {
          throw new HttpError(400, error.message, 'invalid_request_error', 'messages', 'chat_template_error');
        }
        throw error;
      }
    }
    return { model: summary.name, tokens, maxContext: summary.contextLength };
  });
}
