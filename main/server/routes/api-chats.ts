/**
 * Chat history (token-guarded, see auth.ts). The renderer streams from /v1/chat/completions itself and saves here:
 *   GET    /api/conversations?limit&offset          {conversations}: newest activity first, trash excluded
 *   POST   /api/conversations {title?, model?, systemPrompt?, sampling?}          201 conversation
 *   GET    /api/conversations/:id                   {conversation, messages}: the active thread, root first
 *   PATCH  /api/conversations/:id {title?, model?, systemPrompt?, sampling?, activeLeafId?}   {conversation, messages}
 *   DELETE /api/conversations/:id[?purge=true]      to the trash (restorable this session), or for good
 *   POST   /api/conversations/:id/restore           out of the trash: the conversation
 *   POST   /api/conversations/purge                 empties the trash: {purged}
 *   POST   /api/conversations/:id/messages {parentId, role, content?, reasoning?, metadata?, complete?, attachments?}
 *                                                   201 the message with its sibling position; it becomes the leaf
 *   GET    /api/messages/:id                        the message
 *   PATCH  /api/messages/:id {append?, appendReasoning?, metadata?, complete?}   the message (409 once complete)
 *   GET    /api/search?q&limit                      {results: [{conversationId, title, messageId, snippet (HTML)}]}
 *   GET    /api/conversations/:id/export?format=json|markdown   a download
 *   POST   /api/conversations/import <export file>  201 {conversation, messages}
 * Presets and model settings are registered from here too (api-presets.ts), on the same store.
 */
import type { ChatStore } from '../../store/chat-store.ts';
import { openChatStore } from '../../store/chat-store.ts';
import type { ConversationExport } from '../../store/chat-transfer.ts';
import { ChatStoreError } from '../../store/chat-types.ts';
import { apiPresetRoutes } from './api-presets.ts';
import {
  ConversationCreate,
  ConversationPatch,
  DeleteQuery,
  ExportFile,
  ExportQuery,
  IdParams,
  ListQuery,
  MessageCreate,
  MessagePatch,
  SearchQuery,
} from './chat-schemas.ts';
import { store, storeHttpError } from './chat-store-errors.ts';
import type { PlasApp, RouteDeps } from './deps.ts';

/** The chat, preset and settings routes, over the server's database. */
export function apiChatRoutes(app: PlasApp, deps: Pick<RouteDeps, 'db'>): ChatStore {
  const s = openChatStore(deps.db);
  chatRoutes(app, s);
  apiPresetRoutes(app, s);
  return s;
}

/** A file name from the title: letters, digits, dot, dash and underscore only (a header cannot be broken out of). */
function fileName(title: string, ext: string): string {
  const base = title
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-.]+|-+$/g, '')
    .slice(0, 80);
  return `${base || 'chat'}.${ext}`;
}

function chatRoutes(app: PlasApp, { chats, search, transfer }: ChatStore): void {
  app.get('/api/conversations', { schema: { querystring: ListQuery } }, async (request) => ({
    conversations: chats.list(request.query),
  }));

  app.post('/api/conversations', { schema: { body: ConversationCreate } }, async (request, reply) =>
    reply.code(201).send(store(() => chats.create(request.body))),
  );

  app.get('/api/conversations/:id', { schema: { params: IdParams } }, async (request) =>
    store(() => chats.thread(request.params.id)),
  );

  app.patch('/api/conversations/:id', { schema: { params: IdParams, body: ConversationPatch } }, async (request) => {
    const { id } = request.params;
    const { activeLeafId, ...fields } = request.body;
    return store(() => {
      if (Object.keys(fields).length > 0) chats.update(id, fields);
      if (activeLeafId !== undefined) chats.setActiveLeaf(id, activeLeafId);
      return chats.thread(id);
    });
  });

  app.delete('/api/conversations/:id', { schema: { params: IdParams, querystring: DeleteQuery } }, async (request) => {
    const { id } = request.params;
    const purge = request.query.purge === true;
    const done = store(() => (purge ? chats.purge(id) : chats.softDelete(id)));
    if (!done) store(() => chats.require(id)); // the 404 for a missing one (trash: soft delete again is a 404 too)
    return { deleted: id, purged: purge };
  });

  app.post('/api/conversations/:id/restore', { schema: { params: IdParams } }, async (request) =>
    store(() => chats.restore(request.params.id)),
  );

  app.post('/api/conversations/purge', async () => ({ purged: chats.purgeDeleted() }));

  app.post(
    '/api/conversations/:id/messages',
    { schema: { params: IdParams, body: MessageCreate } },
    async (request, reply) => reply.code(201).send(store(() => chats.addMessage(request.params.id, request.body))),
  );

  app.get('/api/messages/:id', { schema: { params: IdParams } }, async (request) => {
    const m = chats.getMessage(request.params.id);
    if (!m) throw storeHttpError(new ChatStoreError('not_found', 'id', `no message with id ${request.params.id}`));
    return m;
  });

  app.patch('/api/messages/:id', { schema: { params: IdParams, body: MessagePatch } }, async (request) =>
    store(() => chats.updateMessage(request.params.id, request.body)),
  );

  app.get('/api/search', { schema: { querystring: SearchQuery } }, async (request) => ({
    results: search.search(request.query.q, request.query.limit),
  }));

  app.get(
    '/api/conversations/:id/export',
    { schema: { params: IdParams, querystring: ExportQuery } },
    async (request, reply) => {
      const { id } = request.params;
      const title = store(() => chats.require(id)).title;
      if (request.query.format === 'markdown') {
        return reply
          .header('content-type', 'text/markdown; charset=utf-8')
          .header('content-disposition', `attachment; filename="${fileName(title, 'md')}"`)
          .send(transfer.exportMarkdown(id));
      }
      return reply
        .header('content-disposition', `attachment; filename="${fileName(title, 'json')}"`)
        .send(transfer.exportJson(id));
    },
  );

  app.post('/api/conversations/import', { schema: { body: ExportFile } }, async (request, reply) => {
    const imported = store(() => transfer.importJson(request.body as ConversationExport));
    return reply.code(201).send(chats.thread(imported.id));
  });
}
