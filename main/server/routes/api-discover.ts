/**
 * Models already on this computer, and downloads from a Hugging Face hub (token-guarded, see auth.ts):
 *   GET    /api/models/discover                 models found in the HF cache, LM Studio, Ollama and the added
 *                                               folders, each with `registered` (its name here, or null) and the
 *                                               `suggestedName` Add registers it under (POST /api/models {path, name})
 *   POST   /api/models/discover/folders {path}  add a folder for discovery to look in
 *   DELETE /api/models/discover/folders {path}  stop looking in it (its files stay)
 *   POST   /api/models/pull {repo, file?, revision?}
 *                                               SSE: `start` {id, files, totalBytes...}, `progress` (bytes), then
 *                                               `done` {snapshot, paths, model (registered) or notRegistered (why)}
 *                                               or `error`; closing the stream cancels, as does
 *   DELETE /api/models/pull/:id                 cancel: the partial file stays for the next pull, nothing registered
 * The hub is HF_ENDPOINT (default https://huggingface.co), with HF_TOKEN for gated models; files land in the HF
 * cache (HF_HUB_CACHE / HF_HOME), where other tools see them.
 */
import { realpath } from 'node:fs/promises';
import { Type } from 'typebox';
import { discoverModels } from '../../models/discovery/discover.ts';
import { discoveryRoots, huggingfaceCache } from '../../models/discovery/roots.ts';
import { suggestName } from '../../models/discovery/suggest-name.ts';
import {
  addUserFolder,
  DiscoveryFolderError,
  readUserFolders,
  removeUserFolder,
} from '../../models/discovery/user-folders.ts';
import { PullError } from '../../models/hub/hub-errors.ts';
import { HubNameError } from '../../models/hub/hub-names.ts';
import { DEFAULT_ENDPOINT, type PullResult, pullModel } from '../../models/hub/pull.ts';
import { PullRegistry } from '../../models/hub/pull-registry.ts';
import type { ModelSummary } from '../context.ts';
import { errorResponse } from '../error-handler.ts';
import { HttpError } from '../http-error.ts';
import type { LocalModelManager } from '../models/model-manager.ts';
import { openSse } from '../sse.ts';
import type { DiscoveredListing, DiscoverResponse, PullDoneEvent, PullStartEvent } from './api-discover-types.ts';
import type { PlasApp, RouteDeps } from './deps.ts';

const FolderBody = Type.Object(
  { path: Type.String({ minLength: 1, maxLength: 4096 }) },
  { additionalProperties: false },
);
const PullBody = Type.Object(
  {
    repo: Type.String({ minLength: 1, maxLength: 200 }),
    file: Type.Optional(Type.String({ maxLength: 300 })),
    revision: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  },
  { additionalProperties: false },
);
const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

const PROGRESS_EVERY_MS = 100;

const realOrSelf = (path: string) => realpath(path).catch(() => path);

/** Registers what a pull brought: the snapshot when it is a model folder, else its one GGUF file. */
async function registerPulled(manager: LocalModelManager, result: PullResult): Promise<ModelSummary> {
  const ggufs = result.paths.filter((p) => /\.gguf$/i.test(p));
  const target = result.files.some((f) => f.path === 'config.json')
    ? result.snapshot
    : ggufs.length === 1
      ? ggufs[0]
      : null;
  if (!target) {
    throw new Error(
      ggufs.length > 1
        ? `it holds ${ggufs.length} GGUF files: add the one you want from "Find models on this computer"`
        : 'it is neither a model folder (no config.json) nor a GGUF file',
    );
  }
  const real = await realOrSelf(target);
  const existing = manager.list().find((m) => m.path === real);
  return existing ?? (await manager.add(target));
}

export function apiDiscoverRoutes(app: PlasApp, deps: RouteDeps): void {
  const { manager } = deps;
  const pulls = new PullRegistry();
  deps.shutdown.addEventListener('abort', () => pulls.cancelAll(), { once: true });
  const dataDir = () => deps.info().dataDir;
  const folderError = (error: unknown) =>
    error instanceof DiscoveryFolderError ? new HttpError(400, error.message, 'invalid_request_error', 'path') : error;

  app.get('/api/models/discover', async (): Promise<DiscoverResponse> => {
    const folders = await readUserFolders(dataDir());
    const roots = discoveryRoots(folders);
    const found = await discoverModels(roots);
    const registered = manager.list();
    const taken = new Set(registered.map((m) => m.name));
    const models: DiscoveredListing[] = [];
    for (const m of found) {
      const real = await realOrSelf(m.path);
      const name = registered.find((r) => r.path === real)?.name ?? null;
      const suggestedName = name ?? suggestName(m, (n) => taken.has(n));
      if (!name) taken.add(suggestedName); // two finds with one name get -2
      models.push({ ...m, registered: name, suggestedName });
    }
    return { models, roots };
  });

  app.post('/api/models/discover/folders', { schema: { body: FolderBody } }, async (request) => {
    try {
      return { folders: await addUserFolder(dataDir(), request.body.path) };
    } catch (error) {
      throw folderError(error);
    }
  });

  app.delete('/api/models/discover/folders', { schema: { body: FolderBody } }, async (request) => ({
    folders: await removeUserFolder(dataDir(), request.body.path),
  }));

  app.post('/api/models/pull', { schema: { body: PullBody } }, async (request, reply) => {
    const { repo, file, revision } = request.body;
    const running = pulls.running(repo);
    if (running) {
      throw new HttpError(
        409,
        `${repo} is already being downloaded (pull ${running.id})`,
        'invalid_request_error',
        'repo',
      );
    }
    const pull = pulls.start(repo)!;
    const sse = openSse(reply, deps.shutdown);
    // Closing the stream (the page's Cancel, a closed tab) cancels the download; the partial file stays.
    sse.closed.addEventListener('abort', () => pull.controller.abort(), { once: true });
    let last = 0;
    try {
      const result = await pullModel({
        repo,
        file: file || undefined,
        revision,
        cache: huggingfaceCache(),
        endpoint: process.env.HF_ENDPOINT || DEFAULT_ENDPOINT,
        token: process.env.HF_TOKEN || undefined,
        signal: pull.controller.signal,
        onStart: (plan) => sse.send('start', { id: pull.id, ...plan } satisfies PullStartEvent),
        onProgress: (p) => {
          const now = performance.now();
          if (p.doneBytes === p.totalBytes || now - last >= PROGRESS_EVERY_MS) {
            last = now;
            sse.send('progress', p);
          }
        },
      });
      let model: ModelSummary | null = null;
      let notRegistered: string | null = null;
      try {
        model = await registerPulled(manager, result);
      } catch (error) {
        notRegistered = `downloaded, but not added: ${(error as Error).message}`;
      }
      sse.send('done', { ...result, model, notRegistered } satisfies PullDoneEvent);
    } catch (error) {
      if (error instanceof PullError || error instanceof HubNameError) {
        const code = error instanceof PullError ? error.code : 'bad_name';
        sse.send('error', { error: { message: error.message, type: 'invalid_request_error', param: 'repo', code } });
      } else sse.send('error', errorResponse(error).body);
    } finally {
      pulls.finish(pull.id);
    }
    sse.end();
  });

  app.delete('/api/models/pull/:id', { schema: { params: IdParams } }, async (request) => {
    if (!pulls.cancel(request.params.id)) {
      throw new HttpError(404, `no download ${request.params.id} is running`, 'not_found_error', 'id');
    }
    return { cancelled: request.params.id };
  });
}
