/**
 * Assembles and starts the server process's parts: the data dir (0700), the database, a fresh management token
 * (0600 file), the model manager, the fastify app, and the listening socket. `plas serve` and the tests start the
 * server through here; `close()` is the graceful shutdown (stop accepting, end streams, unload, close the database).
 */
import { join, resolve } from 'node:path';
import { type EngineConfigInput, engineConfig } from '../../engine/engine-config.ts';
import type { Gpu } from '../../engine/gpu/gpu.ts';
import { ensureDataDir } from '../store/data-dir.ts';
import { type Db, openDatabase } from '../store/database.ts';
import { ModelsRepository } from '../store/models-repo.ts';
import { type AppOptions, buildApp } from './app.ts';
import type { ServerSettings } from './context.ts';
import { DEFAULT_KEEP_ALIVE_MS } from './keep-alive.ts';
import { Metrics } from './metrics.ts';
import type { ModelLoader } from './models/model-loader.ts';
import { LocalModelManager } from './models/model-manager.ts';
import { registerModel } from './models/registry.ts';
import { serverKeyRing } from './providers/key-ring.ts';
import { DEFAULT_PROVIDER_TIMEOUTS, type ProviderTimeouts } from './providers/provider-types.ts';
import { ProviderRegistry } from './providers/registry.ts';
import { RecentRequests } from './request-log.ts';
import type { PlasApp, ServerInfo } from './routes/deps.ts';
import { newToken, writeTokenFile } from './secrets.ts';

export const DEFAULT_LIMITS: ServerSettings['limits'] = {
  maxN: 16,
  maxTokens: 32768,
  maxStop: 16,
  maxTools: 128,
  maxSchemaBytes: 256 * 1024,
  maxWaiting: 128,
};

export interface StartOptions {
  gpu: Gpu;
  dataDir: string;
  host?: string;
  port?: number;
  apiKey?: string;
  corsOrigins?: string[];
  allowedHosts?: string[];
  /** A model folder to register (when new) and load at once; it becomes the default model. */
  model?: string;
  servedModelName?: string;
  maxModelLen?: number;
  keepAliveMs?: number;
  engine?: EngineConfigInput;
  limits?: Partial<ServerSettings['limits']>;
  log?: (message: string) => void;
  /** Tests hold a load open with it. */
  loader?: ModelLoader;
  /**
   * The key that seals provider API keys (32 bytes): the desktop app hands it over (safeStorage); without it, the
   * data dir's 0600 provider-keys.key is used (made on first use).
   */
  masterKey?: Buffer;
  /** Timeouts of requests to remote providers and of their health checks. */
  providerTimeouts?: Partial<ProviderTimeouts>;
}

export interface RunningServer {
  app: PlasApp;
  /** e.g. http://127.0.0.1:8188 */
  url: string;
  port: number;
  token: string;
  tokenFile: string;
  manager: LocalModelManager;
  providers: ProviderRegistry;
  /** The launch model's load (resolved when it is loaded or failed; never rejects). */
  ready: Promise<void>;
  close(): Promise<void>;
}

/** A user mistake in what the server was started with (exits 1 with the message, no stack). */
export class ServeError extends Error {
  override name = 'ServeError';
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function isLoopback(host: string): boolean {
  return LOOPBACK_HOSTS.has(host.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Anything but loopback needs an API key: a server open to the network would run anyone's prompts. */
export function checkBind(host: string, apiKey: string | undefined): void {
  if (!isLoopback(host) && !apiKey) {
    throw new ServeError(
      `binding ${host} would expose the server to your network without a key: add --api-key KEY (clients then send ` +
        'Authorization: Bearer KEY), or bind 127.0.0.1',
    );
  }
}

/** A specific address the server binds is a name its clients send as Host (a wildcard bind names none). */
function boundHostNames(host: string): string[] {
  if (isLoopback(host) || host === '0.0.0.0' || host === '::') return [];
  return [host.includes(':') && !host.startsWith('[') ? `[${host}]` : host];
}

export async function startServer(options: StartOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  checkBind(host, options.apiKey);
  const log = options.log ?? (() => {});
  const dataDir = ensureDataDir(options.dataDir);
  const db: Db = openDatabase(join(dataDir, 'plas.db'));
  const shutdown = new AbortController();
  let manager: LocalModelManager | null = null;
  let providers: ProviderRegistry | null = null;
  try {
    const repo = new ModelsRepository(db);
    const engine = options.engine ?? {};
    const resolved = engineConfig(engine); // validated once, here (the CLI has checked it already)
    const keepAliveMs = options.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS;
    // Register the launch model before listening: a bad --model folder is a user mistake, reported at once.
    let defaultModel: string | undefined;
    if (options.model !== undefined) {
      try {
        defaultModel = await registerModel(repo, resolve(options.model));
      } catch (error) {
        throw new ServeError((error as Error).message);
      }
    }
    manager = new LocalModelManager({
      gpu: options.gpu,
      repo,
      engine,
      defaultKeepAliveMs: keepAliveMs,
      defaultModel,
      servedModelName: options.servedModelName,
      maxModelLen: options.maxModelLen,
      log,
      loader: options.loader,
    });
    const m = manager;
    const metrics = new Metrics(() => {
      const loaded = m.loaded();
      return loaded ? { model: loaded.name, stats: loaded.engine.stats(), loadSeconds: loaded.loadSeconds } : null;
    });
    const settings: ServerSettings = {
      servedModelName: options.servedModelName,
      limits: { ...DEFAULT_LIMITS, ...options.limits },
    };
    const providerTimeouts = { ...DEFAULT_PROVIDER_TIMEOUTS, ...options.providerTimeouts };
    providers = new ProviderRegistry(db, serverKeyRing(dataDir, options.masterKey, log), providerTimeouts, log);
    const token = newToken();
    const tokenFile = writeTokenFile(dataDir, token);
    let port = options.port ?? 8188;
    const info = (): ServerInfo => ({
      host,
      port,
      dataDir,
      defaultModel: defaultModel ?? null,
      servedModelName: options.servedModelName ?? null,
      keepAliveMs,
      maxModelLen: options.maxModelLen ?? null,
      apiKeyRequired: options.apiKey !== undefined,
      corsOrigins: options.corsOrigins ?? [],
      allowedHosts: options.allowedHosts ?? [],
      engine,
      limits: settings.limits,
      providerTimeouts,
    });
    const appOptions: AppOptions = {
      db,
      adapter: options.gpu.adapter,
      features: options.gpu.features,
      manager,
      metrics,
      requests: new RecentRequests(),
      settings,
      info,
      shutdown: shutdown.signal,
      providers,
      estimate: {
        pageSize: resolved.cache.pageSize,
        keySums: resolved.attention.allowPlas,
        kvDtype: resolved.cache.dtype,
      },
      token,
      apiKey: options.apiKey,
      corsOrigins: options.corsOrigins,
      allowedHosts: [...(options.allowedHosts ?? []), ...boundHostNames(host)],
    };
    const app = buildApp(appOptions);
    try {
      await app.listen({ host, port: options.port ?? 8188 });
    } catch (error) {
      await app.close();
      const code = (error as NodeJS.ErrnoException).code;
      const why =
        code === 'EADDRINUSE'
          ? 'the port is in use (pick another with --port, or 0 for a free one)'
          : (error as Error).message;
      throw new ServeError(`cannot listen on ${host}:${options.port ?? 8188}: ${why}`);
    }
    const address = app.server.address();
    port = typeof address === 'object' && address ? address.port : port;
    const urlHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
    const url = `http://${urlHost}:${port}`;

    const registry = providers;
    registry.start(); // each enabled provider checked once now, then periodically
    const ready =
      defaultModel === undefined
        ? Promise.resolve()
        : m.load(defaultModel).catch((error) => log(`error: ${(error as Error).message}`));

    let closing: Promise<void> | null = null;
    const close = () => {
      closing ??= (async () => {
        const stopped = app.close(); // stops accepting at once; resolves when in-flight responses have ended
        shutdown.abort(); // SSE streams of /api end
        registry.close(); // no more health checks
        await m.close(); // engines close: generations in flight end with finish reason abort
        await stopped;
        db.close();
      })();
      return closing;
    };
    return { app, url, port, token, tokenFile, manager: m, providers: registry, ready, close };
  } catch (error) {
    providers?.close();
    await manager?.close();
    db.close();
    throw error;
  }
}
