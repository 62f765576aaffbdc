/**
 * Runs the server (`plas serve`) as a child process for the desktop app and keeps it running:
 * - reads its stdout for JSON event lines (`ready` with url and token; `model-progress`, `model-ready`, `model-error`
 *   while the launch model loads) and writes every other line, stdout and stderr, to the rotating log;
 * - a server that exits (or never says ready within `readyTimeoutMs`) is restarted after a backoff that doubles;
 *   `maxCrashes` crashes within `crashWindowMs` stop the restarts (`gave-up`, with the log's last lines) until retry();
 * - stop(): SIGTERM, up to `stopTimeoutMs` for a clean exit (the server ends its streams and closes SQLite), then
 *   SIGKILL. Resolves once the process is gone.
 * - `secretInput` (the master key of provider API keys) is written to the child's stdin at each start, then stdin is
 *   closed: never on the command line or in the environment, where other processes of the user could read it.
 * Plain Node: no Electron here, so it is tested with the real server (test/main/electron/server-supervisor.test.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { RotatingLog } from './rotating-log.ts';

export interface ServerCommand {
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export interface ServerReady {
  url: string;
  port: number;
  token: string;
}

export type SupervisorEvent =
  | { type: 'starting'; attempt: number }
  | ({ type: 'ready'; pid: number } & ServerReady)
  | { type: 'model-progress'; model: string; loaded: number; total: number }
  | { type: 'model-ready'; model: string }
  | { type: 'model-error'; model: string; message: string }
  | { type: 'crashed'; code: number | null; signal: NodeJS.Signals | null; restartInMs: number }
  | { type: 'gave-up'; crashes: number; lastLines: string[] }
  | { type: 'stopped' };

export type SupervisorState = 'idle' | 'starting' | 'running' | 'waiting' | 'gave-up' | 'stopping' | 'stopped';

export interface SupervisorOptions {
  command: ServerCommand;
  log: RotatingLog;
  onEvent?: (event: SupervisorEvent) => void;
  /** Delay before the first restart; doubled for each crash in a row, up to `maxBackoffMs`. Default 1 s. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** This many crashes within `crashWindowMs` stop the restarts. Defaults: 3 in 60 s. */
  maxCrashes?: number;
  crashWindowMs?: number;
  /** A server that has not printed its ready line by then is killed and counted as a crash. Default 120 s. */
  readyTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL. Default 5 s. */
  stopTimeoutMs?: number;
  /** Log lines a gave-up event carries. Default 40. */
  tailLines?: number;
  /** A line written to the child's stdin at each start (then closed); called at each start. */
  secretInput?: () => string;
}

const READY_EVENTS = new Set(['ready', 'model-progress', 'model-ready', 'model-error']);

export class ServerSupervisor {
  readonly #o: Required<Omit<SupervisorOptions, 'onEvent' | 'secretInput'>> &
    Pick<SupervisorOptions, 'onEvent' | 'secretInput'>;
  #child: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  #state: SupervisorState = 'idle';
  #ready: ServerReady | null = null;
  #crashes: number[] = [];
  #inARow = 0;
  #attempt = 0;
  #restartTimer: NodeJS.Timeout | null = null;
  #readyTimer: NodeJS.Timeout | null = null;

  constructor(o: SupervisorOptions) {
    this.#o = {
      backoffMs: 1000,
      maxBackoffMs: 15_000,
      maxCrashes: 3,
      crashWindowMs: 60_000,
      readyTimeoutMs: 120_000,
      stopTimeoutMs: 5000,
      tailLines: 40,
      ...o,
    };
  }

  get state(): SupervisorState {
    return this.#state;
  }
  /** The running server's address and token; null until its ready line (and after it exits). */
  get ready(): ServerReady | null {
    return this.#ready;
  }
  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  start(): void {
    if (this.#state !== 'idle' && this.#state !== 'gave-up') {
      throw new Error(`the server supervisor cannot start from state ${this.#state}`);
    }
    this.#crashes = [];
    this.#inARow = 0;
    this.#spawn();
  }

  /** After gave-up: start again with a clean crash count (the window's Retry button). */
  retry(): void {
    if (this.#state !== 'gave-up') throw new Error(`retry is for a supervisor that gave up (state ${this.#state})`);
    this.start();
  }

  /** Stops the server for good: SIGTERM, then SIGKILL after stopTimeoutMs. Resolves when the process is gone. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopping';
    this.#clearTimers();
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), this.#o.stopTimeoutMs);
      await this.#exited;
      clearTimeout(killer);
    }
    this.#state = 'stopped';
    this.#emit({ type: 'stopped' });
  }

  #spawn(): void {
    this.#state = 'starting';
    this.#ready = null;
    this.#attempt++;
    this.#emit({ type: 'starting', attempt: this.#attempt });
    const { command, args, cwd, env } = this.#o.command;
    this.#o.log.write(
      `--- ${new Date().toISOString()} starting the server (attempt ${this.#attempt}): ${command} ${args.join(' ')}`,
    );
    const secret = this.#o.secretInput?.();
    const stdin = secret === undefined ? 'ignore' : 'pipe';
    const child = spawn(command, args, { cwd, env, stdio: [stdin, 'pipe', 'pipe'], windowsHide: true });
    this.#child = child;
    if (secret !== undefined && child.stdin) {
      child.stdin.on('error', () => {}); // a child that exits before reading: its exit is what is reported
      child.stdin.end(`${secret}\n`);
    }
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    createInterface({ input: child.stdout! }).on('line', (line) => this.#stdout(line, child));
    createInterface({ input: child.stderr! }).on('line', (line) => this.#o.log.write(line));
    child.once('error', (error) => this.#o.log.write(`the server could not be started: ${error.message}`));
    child.once('exit', (code, signal) => this.#onExit(child, code, signal));
    this.#readyTimer = setTimeout(() => {
      this.#o.log.write(`the server printed no ready line within ${this.#o.readyTimeoutMs / 1000} s: killing it`);
      child.kill('SIGKILL');
    }, this.#o.readyTimeoutMs);
  }

  #stdout(line: string, child: ChildProcess): void {
    const event = parseEvent(line);
    if (!event) {
      this.#o.log.write(line);
      return;
    }
    if (event.event === 'ready') {
      const ready = readyInfo(event);
      if (!ready) {
        this.#o.log.write(`a malformed ready line: ${line}`);
        return;
      }
      if (this.#readyTimer) clearTimeout(this.#readyTimer);
      this.#readyTimer = null;
      this.#ready = ready;
      this.#state = 'running';
      this.#inARow = 0;
      this.#emit({ type: 'ready', pid: child.pid ?? -1, ...ready });
    } else if (event.event === 'model-progress') {
      this.#emit({
        type: 'model-progress',
        model: String(event.model),
        loaded: Number(event.loaded),
        total: Number(event.total),
      });
    } else if (event.event === 'model-ready') {
      this.#emit({ type: 'model-ready', model: String(event.model) });
    } else if (event.event === 'model-error') {
      this.#o.log.write(`the model ${String(event.model)} failed to load: ${String(event.message)}`);
      this.#emit({ type: 'model-error', model: String(event.model), message: String(event.message) });
    }
  }

  #onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.#child) return;
    this.#child = null;
    this.#ready = null;
    if (this.#readyTimer) clearTimeout(this.#readyTimer);
    this.#readyTimer = null;
    this.#o.log.write(`--- the server exited (${signal ? `signal ${signal}` : `code ${code}`})`);
    if (this.#state === 'stopping' || this.#state === 'stopped') return;

    const now = Date.now();
    this.#crashes = [...this.#crashes.filter((t) => now - t < this.#o.crashWindowMs), now];
    if (this.#crashes.length >= this.#o.maxCrashes) {
      this.#state = 'gave-up';
      this.#emit({ type: 'gave-up', crashes: this.#crashes.length, lastLines: this.#o.log.tail(this.#o.tailLines) });
      return;
    }
    const delay = Math.min(this.#o.backoffMs * 2 ** this.#inARow, this.#o.maxBackoffMs);
    this.#inARow++;
    this.#state = 'waiting';
    this.#emit({ type: 'crashed', code, signal, restartInMs: delay });
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = null;
      if (this.#state === 'waiting') this.#spawn();
    }, delay);
  }

  #clearTimers(): void {
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    if (this.#readyTimer) clearTimeout(this.#readyTimer);
    this.#restartTimer = null;
    this.#readyTimer = null;
  }

  #emit(event: SupervisorEvent): void {
    this.#o.onEvent?.(event);
  }
}

/** A JSON event line the server prints on stdout (`{"event": ...}`), or null for any other line. */
function parseEvent(line: string): Record<string, unknown> | null {
  if (!line.startsWith('{')) return null;
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
    const event = (value as { event?: unknown }).event;
    return typeof event === 'string' && READY_EVENTS.has(event) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function readyInfo(e: Record<string, unknown>): ServerReady | null {
  const { url, port, token } = e;
  if (typeof url !== 'string' || typeof port !== 'number' || typeof token !== 'string') return null;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  // The window will load this URL: only the server's own loopback http origin is acceptable.
  if (parsed.protocol !== 'http:' || !['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname)) return null;
  if (!/^[A-Za-z0-9_-]{16,}$/.test(token)) return null;
  return { url: parsed.origin, port, token };
}
