/**
 * The server's log as the desktop app keeps it: appended to `<dataDir>/logs/server.log`, rolled to server.log.1 ..
 * server.log.N when it passes `maxBytes` (the oldest dropped), so a server that crash-loops for a week cannot fill the
 * disk. Writes are synchronous: the supervisor writes a line at a time, and a line must be on disk before a crash
 * report reads the tail back.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

export interface RotatingLogOptions {
  /** Roll over once the file is this big (default 5 MiB). */
  maxBytes?: number;
  /** Rolled files kept beside the live one (default 3). */
  keep?: number;
}

export class RotatingLog {
  readonly maxBytes: number;
  readonly keep: number;
  #size: number;

  constructor(
    readonly path: string,
    o: RotatingLogOptions = {},
  ) {
    this.maxBytes = o.maxBytes ?? 5 * 1024 * 1024;
    this.keep = o.keep ?? 3;
    if (!(this.maxBytes > 0) || !Number.isInteger(this.keep) || this.keep < 0) {
      throw new RangeError(`bad log rotation: maxBytes ${this.maxBytes}, keep ${this.keep}`);
    }
    mkdirSync(dirname(path), { recursive: true });
    this.#size = existsSync(path) ? statSync(path).size : 0;
  }

  /** Appends one line (a trailing newline is added), rolling first when the line would pass the limit. */
  write(line: string): void {
    const text = `${line}\n`;
    const bytes = Buffer.byteLength(text);
    if (this.#size > 0 && this.#size + bytes > this.maxBytes) this.#roll();
    appendFileSync(this.path, text);
    this.#size += bytes;
  }

  /** The last `n` lines of the live file (what a crash report shows). */
  tail(n: number): string[] {
    if (!existsSync(this.path)) return [];
    const lines = readFileSync(this.path, 'utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    return lines.slice(-n);
  }

  #roll(): void {
    rmSync(`${this.path}.${this.keep}`, { force: true });
    for (let i = this.keep - 1; i >= 1; i--) {
      if (existsSync(`${this.path}.${i}`)) renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
    }
    if (this.keep > 0) renameSync(this.path, `${this.path}.1`);
    else rmSync(this.path, { force: true });
    this.#size = 0;
  }
}
