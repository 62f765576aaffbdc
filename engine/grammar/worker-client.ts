/**
 * The engine's handle on one XGrammar worker thread: starts it, sends one request at a time (steps ahead of queued
 * compiles) and runs a watchdog on each. A request that outlives its timeout terminates the thread: XGrammar can
 * loop forever inside wasm, where nothing but terminate() stops it. Once dead, every request, queued or in flight,
 * fails with a GrammarWorkerError, and so does every later one.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { GrammarUnavailableError, GrammarWorkerError } from './errors.ts';
import type { WorkerInit, WorkerReply, WorkerRequest } from './protocol.ts';

/** A request that was still queued when its worker died: it never ran, so the caller may send it elsewhere. */
export class NotRunError extends GrammarWorkerError {
  override name = 'NotRunError';
}

interface Job {
  msg: WorkerRequest;
  timeoutMs: number;
  resolve: (reply: WorkerReply) => void;
  reject: (error: GrammarWorkerError) => void;
}

// The thread runs worker-thread.ts from source (under tsx) or worker-thread.js once compiled.
const BOOTSTRAP = new URL('./worker-bootstrap.mjs', import.meta.url);
const ENTRY = new URL(`./worker-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url).href;

export class WorkerClient {
  /** Set once the thread is gone; every request then fails with it. */
  failure: GrammarWorkerError | null = null;
  /** Matchers created in this worker and not yet released. */
  liveMatchers = 0;
  /** Compiles XGrammar refused here (each abort leaks part of the wasm instance). */
  failedCompiles = 0;
  /** No new grammars or matchers go here; it ends when its last matcher is released. */
  retiring = false;
  tokenizerInfoMs = 0;

  private readonly queue: Job[] = [];
  private running: { job: Job; timer: NodeJS.Timeout } | null = null;
  private readonly worker: Worker;
  private readonly ready: Promise<void>;

  private constructor(
    init: WorkerInit,
    readonly generation: number,
    startTimeoutMs: number,
  ) {
    this.worker = new Worker(BOOTSTRAP, { workerData: { ...init, entry: ENTRY } });
    // An idle worker must not keep the process alive; a request in flight does, through its watchdog timer.
    this.worker.unref();
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => this.kill(`it did not start within ${startTimeoutMs} ms`), startTimeoutMs);
      this.worker.once('message', (reply: WorkerReply) => {
        clearTimeout(timer);
        if (reply.type === 'ready') {
          this.tokenizerInfoMs = reply.tokenizerInfoMs;
          this.worker.on('message', (r: WorkerReply) => this.onReply(r));
          resolve();
        } else if (reply.type === 'unavailable') {
          reject(new GrammarUnavailableError(reply.message));
          this.kill(reply.message);
        }
      });
      this.rejectStart = (error) => {
        clearTimeout(timer);
        reject(error);
      };
    });
    this.worker.on('error', (e) => this.kill(`it crashed: ${e.message}`));
    this.worker.on('exit', (code) => this.kill(`it exited with code ${code}`));
  }

  /** Called once when the worker dies, after its requests have been failed. */
  onDeath: (error: GrammarWorkerError) => void = () => {};
  private rejectStart: (error: Error) => void = () => {};

  static async start(init: WorkerInit, generation: number, startTimeoutMs: number): Promise<WorkerClient> {
    const client = new WorkerClient(init, generation, startTimeoutMs);
    await client.ready;
    return client;
  }

  get idle(): boolean {
    return this.running === null && this.queue.length === 0;
  }

  /** Sends `msg` once the requests before it are answered; `urgent` requests (steps) go before queued ones. */
  request(msg: WorkerRequest, timeoutMs: number, urgent = false): Promise<WorkerReply> {
    if (this.failure) return Promise.reject(new NotRunError(`worker ${this.generation} is gone`));
    return new Promise((resolve, reject) => {
      const job = { msg, timeoutMs, resolve, reject };
      if (urgent) this.queue.unshift(job);
      else this.queue.push(job);
      this.next();
    });
  }

  /** A message that needs no reply (release): the worker handles it in order. */
  post(msg: WorkerRequest): void {
    if (!this.failure) this.worker.postMessage(msg);
  }

  /** Terminates the thread (if alive) and fails everything sent to it. */
  kill(reason: string): void {
    if (this.failure) return;
    this.failure = new GrammarWorkerError(`worker ${this.generation}: ${reason}`);
    void this.worker.terminate();
    if (this.running) {
      clearTimeout(this.running.timer);
      this.running.job.reject(this.failure);
      this.running = null;
    }
    for (const job of this.queue.splice(0)) job.reject(new NotRunError(`worker ${this.generation} ended first`));
    this.rejectStart(this.failure);
    this.onDeath(this.failure);
  }

  private next(): void {
    if (this.running || this.failure) return;
    const job = this.queue.shift();
    if (!job) return;
    const timer = setTimeout(
      () => this.kill(`a ${job.msg.type} request ran past its ${job.timeoutMs} ms timeout`),
      job.timeoutMs,
    );
    this.running = { job, timer };
    this.worker.postMessage(job.msg);
  }

  private onReply(reply: WorkerReply): void {
    const running = this.running;
    if (!running) return;
    clearTimeout(running.timer);
    this.running = null;
    running.job.resolve(reply);
    this.next();
  }
}
