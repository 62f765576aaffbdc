/**
 * `plas serve`: the server process (headless, or started by the desktop app). It registers and loads the model given
 * with --model (the bundled PLAS Mini without it), listens on 127.0.0.1:8188, prints one human line on stderr and ONE
 * JSON line on stdout, `{"event":"ready","url":...,"port":...,"token":...}`, which the desktop app reads, then JSON lines
 * while the launch model loads (`model-progress` {loaded, total} bytes, `model-ready` or `model-error`). SIGINT or
 * SIGTERM: stop accepting, end streams in flight (finish reason abort), exit 0 within 5 s. A mistake in the flags or
 * the model folder prints `error: <message>` and exits 1 (--debug adds the stack).
 */
import { Command, InvalidArgumentError } from 'commander';
import { type EngineConfigInput, engineConfig } from '../../../engine/engine-config.ts';
import type { Gpu } from '../../../engine/gpu/gpu.ts';
import type { KvDType } from '../../../engine/kv/paged-layout.ts';
import { normalizeOrigin } from '../../server/cors.ts';
import { parseKeepAlive } from '../../server/keep-alive.ts';
import { readMasterKeyLine } from '../../server/providers/master-key.ts';
import { checkBind, type RunningServer, startServer } from '../../server/start.ts';
import { defaultDataDir } from '../../store/data-dir.ts';
import { MODEL_FLAG_HELP, modelDir } from '../default-model.ts';
import { type AttentionFlags, addAttentionFlags, attentionInput } from './attention-flags.ts';
import { addGpuFlags, type GpuFlags, openGpu } from './gpu-options.ts';
import { KV_DTYPE_HELP, kvCacheDtype } from './kv-cache-flags.ts';

/** Shutdown must finish within 5 s (the desktop app and service managers wait that long): force it a little before. */
const SHUTDOWN_DEADLINE_MS = 4000;

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError(`expected a port number, got "${value}"`);
  return n;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

/** Seconds (fractions allowed) to ms, for the provider timeouts. */
function secondsToMs(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 86_400) {
    throw new InvalidArgumentError(`expected seconds (0 < s <= 86400), got "${value}"`);
  }
  return Math.round(n * 1000);
}

function keepAlive(value: string): number {
  try {
    return parseKeepAlive(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function origins(value: string, previous: string[] = []): string[] {
  try {
    return [...previous, normalizeOrigin(value)];
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

interface ServeFlags extends GpuFlags, AttentionFlags {
  model?: string;
  host: string;
  port: number;
  apiKey?: string;
  servedModelName?: string;
  maxModelLen?: number;
  maxNumSeqs?: number;
  maxNumBatchedTokens?: number;
  kvCacheMemory?: number;
  kvCacheDtype?: KvDType;
  dataDir?: string;
  corsOrigin?: string[];
  allowedHost?: string[];
  keepAlive?: number;
  masterKeyStdin?: boolean;
  providerConnectTimeout?: number;
  providerFirstByteTimeout?: number;
  providerIdleTimeout?: number;
  debug?: boolean;
}

/** The engine settings every model loads with, validated now so a bad flag fails before anything starts. */
function engineInput(flags: ServeFlags): EngineConfigInput {
  const maxNumSeqs = flags.maxNumSeqs;
  const input: EngineConfigInput = {
    attention: attentionInput(flags),
    cache: {
      ...(flags.kvCacheMemory !== undefined ? { memoryBytes: flags.kvCacheMemory * 2 ** 20 } : {}),
      ...(flags.kvCacheDtype !== undefined ? { dtype: flags.kvCacheDtype } : {}),
    },
    scheduler: {
      ...(maxNumSeqs !== undefined ? { maxNumSeqs } : {}),
      // A budget below max_num_seqs is an error; when only the sequences are raised, the budget follows them.
      ...(flags.maxNumBatchedTokens !== undefined
        ? { maxNumBatchedTokens: flags.maxNumBatchedTokens }
        : maxNumSeqs !== undefined
          ? { maxNumBatchedTokens: Math.max(1024, maxNumSeqs) }
          : {}),
    },
  };
  engineConfig(input);
  return input;
}

export function serveCommand(): Command {
  const command = addAttentionFlags(
    addGpuFlags(
      new Command('serve')
        .description('run the OpenAI-compatible server and the app on localhost')
        .option('--model <dir>', `${MODEL_FLAG_HELP}; registered under its folder's name`)
        .option('--host <address>', 'address to bind (anything but loopback needs --api-key)', '127.0.0.1')
        .option('--port <n>', 'port (0 picks a free one)', port, 8188)
        .option('--api-key <key>', 'require Authorization: Bearer <key> on /v1 and /metrics (default: $PLAS_API_KEY)')
        .option('--served-model-name <name>', 'another name the --model answers to in requests')
        .option('--max-model-len <n>', "hold requests to this context length (at most the model's)", positiveInt)
        .option('--max-num-seqs <n>', 'requests running at once', positiveInt)
        .option('--max-num-batched-tokens <n>', 'token budget of one step', positiveInt)
        .option('--kv-cache-memory <MB>', 'KV cache size in MiB', positiveInt)
        .option('--kv-cache-dtype <type>', `${KV_DTYPE_HELP} (default f16)`, kvCacheDtype)
        .option('--data-dir <dir>', `where the database and the token live (default: ${defaultDataDir()})`)
        .option('--cors-origin <origins...>', 'let web pages from these origins call the server (* for any)', origins)
        .option('--allowed-host <names...>', 'accept these Host header names besides loopback ones')
        .option(
          '--keep-alive <duration>',
          'how long a model stays loaded after its last request: 30m, 1h, 300 (seconds); -1 forever, 0 unload at once',
          keepAlive,
        )
        .option(
          '--master-key-stdin',
          "read the key that encrypts provider API keys from stdin's first line (base64; the desktop app sends it); " +
            'without it, or with an empty line, <data-dir>/provider-keys.key (0600) is used (made when a key is first ' +
            "saved; where the app sealed the folder's key, its providers' keys cannot be used until entered again here)",
        )
        .option('--provider-connect-timeout <s>', 'seconds to connect to a remote provider (default 5)', secondsToMs)
        .option(
          '--provider-first-byte-timeout <s>',
          'seconds a remote provider may take to start its answer (default 300: a non-streamed answer comes whole)',
          secondsToMs,
        )
        .option(
          '--provider-idle-timeout <s>',
          "seconds between two chunks of a provider's answer (default 120)",
          secondsToMs,
        )
        .option('--debug', 'print stacks with errors'),
    ),
  );
  return command.action(async (flags: ServeFlags) => {
    try {
      await serve(flags);
    } catch (error) {
      const e = error as Error;
      console.error(flags.debug && e.stack ? e.stack : `error: ${e.message}`);
      process.exit(1);
    }
  });
}

async function serve(flags: ServeFlags): Promise<void> {
  const engine = engineInput(flags);
  const apiKey = flags.apiKey ?? (process.env.PLAS_API_KEY || undefined);
  checkBind(flags.host, apiKey); // before the GPU opens: a refusal should be instant
  const dir = modelDir(flags.model);
  // Before the GPU opens: the desktop app writes the key at once, and a missing one should fail fast.
  const masterKey = (flags.masterKeyStdin ? await readMasterKeyLine(process.stdin) : null) ?? undefined;
  const log = (m: string) => console.error(m);
  const gpu: Gpu = await openGpu(flags, log);
  let server: RunningServer;
  try {
    server = await startServer({
      gpu,
      dataDir: flags.dataDir ?? defaultDataDir(),
      host: flags.host,
      port: flags.port,
      apiKey,
      corsOrigins: flags.corsOrigin,
      allowedHosts: flags.allowedHost,
      model: dir,
      servedModelName: flags.servedModelName,
      maxModelLen: flags.maxModelLen,
      keepAliveMs: flags.keepAlive,
      engine,
      log,
      masterKey,
      providerTimeouts: {
        ...(flags.providerConnectTimeout !== undefined ? { connectMs: flags.providerConnectTimeout } : {}),
        ...(flags.providerFirstByteTimeout !== undefined ? { firstByteMs: flags.providerFirstByteTimeout } : {}),
        ...(flags.providerIdleTimeout !== undefined ? { idleMs: flags.providerIdleTimeout } : {}),
      },
    });
  } catch (error) {
    gpu.destroy();
    throw error;
  }
  const { url, port, token } = server;
  console.error(
    `PLAS Studio is ready at ${url}/?token=${token} (OpenAI API: ${url}/v1; loading ${server.manager.defaultModel})`,
  );
  console.log(JSON.stringify({ event: 'ready', url, port, token }));
  reportLaunchModel(server);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.error(`${signal}: shutting down`);
    const deadline = setTimeout(() => {
      console.error(`shutdown took over ${SHUTDOWN_DEADLINE_MS / 1000} s: closing connections and exiting`);
      server.app.server.closeAllConnections();
      process.exit(0);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    server
      .close()
      .catch((error) => console.error(`error during shutdown: ${(error as Error).message}`))
      .finally(() => {
        gpu.destroy();
        process.exit(0);
      });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** Progress lines at most this often: the desktop app's starting page shows them as a bar. */
const PROGRESS_EVERY_MS = 200;

/** The launch model's load as JSON lines on stdout, for the desktop app's starting page (main/electron). */
function reportLaunchModel(server: RunningServer): void {
  const model = server.manager.defaultModel;
  if (model === undefined) return;
  const line = (event: string, fields: Record<string, unknown> = {}) =>
    console.log(JSON.stringify({ event, model, ...fields }));
  let last = 0;
  server.manager
    .load(model, (loaded, total) => {
      const now = performance.now();
      if (loaded < total && now - last < PROGRESS_EVERY_MS) return;
      last = now;
      line('model-progress', { loaded, total });
    })
    .then(
      () => line('model-ready'),
      (error: Error) => line('model-error', { message: error.message }),
    );
}
