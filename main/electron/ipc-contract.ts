/**
 * The one contract between the desktop shell's main process, its preload script and the pages it shows: channel
 * names, what each takes and returns, and the checks main applies to every message (ipc-guard.ts). The renderer sees
 * it as `window.plasDesktop` (undefined in a plain browser, where the app works without it).
 */

export const IPC_CHANNELS = {
  /** () -> string | null: a folder the user picked in the native dialog (for adding a model), null when cancelled. */
  pickModelFolder: 'plas:pick-model-folder',
  /** () -> void: shows the data folder (database, logs, token) in the system's file manager. */
  revealDataDir: 'plas:reveal-data-dir',
  /** () -> string: the app's version. */
  appVersion: 'plas:app-version',
  /** () -> void: the starting page's Retry, after the server crashed three times in a minute. */
  retryServer: 'plas:retry-server',
  /** main -> starting page: ServerStatus updates. */
  serverStatus: 'plas:server-status',
} as const;

export type InvokeChannel = Exclude<(typeof IPC_CHANNELS)[keyof typeof IPC_CHANNELS], typeof IPC_CHANNELS.serverStatus>;

/** What the starting page shows while the server starts or after it failed. */
export type ServerStatus =
  | { state: 'starting'; attempt: number }
  | { state: 'loading-model'; model: string; loaded: number; total: number }
  | { state: 'restarting'; inMs: number; exit: string }
  | { state: 'failed'; message: string; lastLines: string[] };

/** The API the preload script exposes to the pages as `window.plasDesktop`. */
export interface DesktopApi {
  pickModelFolder(): Promise<string | null>;
  revealDataDir(): Promise<void>;
  appVersion(): Promise<string>;
  retryServer(): Promise<void>;
  /** Calls `listener` on each status update; returns the function that stops listening. */
  onServerStatus(listener: (status: ServerStatus) => void): () => void;
}

/**
 * The arguments each invoke channel accepts: none, for all of them today. A channel's checker returns why the
 * arguments are refused, or null. Every argument a page sends is untrusted (a compromised page could send anything).
 */
export const ARGUMENT_CHECKS: Record<InvokeChannel, (args: readonly unknown[]) => string | null> = {
  [IPC_CHANNELS.pickModelFolder]: noArguments,
  [IPC_CHANNELS.revealDataDir]: noArguments,
  [IPC_CHANNELS.appVersion]: noArguments,
  [IPC_CHANNELS.retryServer]: noArguments,
};

function noArguments(args: readonly unknown[]): string | null {
  return args.length === 0 ? null : `takes no arguments (got ${args.length})`;
}

export const isInvokeChannel = (channel: string): channel is InvokeChannel => Object.hasOwn(ARGUMENT_CHECKS, channel);
