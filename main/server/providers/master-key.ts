/**
 * Where the master key that seals provider API keys comes from:
 * - the desktop app: Electron's safeStorage keeps it (main/electron/master-key-store.ts) and the supervisor writes it
 *   to the server's stdin (`plas serve --master-key-stdin`): never on the command line, never in the environment;
 * - headless `plas serve`: `<data-dir>/provider-keys.key`, 32 random bytes (base64), readable by the user alone.
 * key-ring.ts decides which a server uses (and what it does on a folder whose key the app sealed).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { MASTER_KEY_BYTES } from './key-box.ts';

export const MASTER_KEY_FILE = 'provider-keys.key';
/** The desktop app's master key, sealed by the system's secret storage (main/electron/master-key-store.ts). */
export const SAFE_MASTER_KEY_FILE = 'provider-keys.safe';

export class MasterKeyError extends Error {
  override name = 'MasterKeyError';
}

/** A master key as text (base64 of 32 bytes, surrounding whitespace ignored). */
export function parseMasterKey(text: string, where: string): Buffer {
  const trimmed = text.trim();
  const key = Buffer.from(trimmed, 'base64');
  if (!/^[A-Za-z0-9+/_-]+=*$/.test(trimmed) || key.length !== MASTER_KEY_BYTES) {
    throw new MasterKeyError(`${where}: not a master key (expected ${MASTER_KEY_BYTES} bytes in base64)`);
  }
  return key;
}

export function newMasterKey(): Buffer {
  return randomBytes(MASTER_KEY_BYTES);
}

/** Reads `<dataDir>/provider-keys.key` when it is there (null when not), tightening a file others could read. */
export function readExistingMasterKey(dataDir: string): Buffer | null {
  const path = join(dataDir, MASTER_KEY_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return null;
  }
  if (process.platform !== 'win32' && (statSync(path).mode & 0o077) !== 0) {
    const fd = openSync(path, 'r');
    try {
      fchmodSync(fd, 0o600);
    } finally {
      closeSync(fd);
    }
  }
  return parseMasterKey(text, path);
}

/** Reads `<dataDir>/provider-keys.key`, creating it (0600) with a fresh key when missing; tightens a wider file. */
export function fileMasterKey(dataDir: string): Buffer {
  const path = join(dataDir, MASTER_KEY_FILE);
  const existing = readExistingMasterKey(dataDir);
  if (existing) return existing;
  const key = newMasterKey();
  // 'wx': two servers starting at once on one data dir must not each write their own key.
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return parseMasterKey(readFileSync(path, 'utf8'), path);
    throw error;
  }
  try {
    if (process.platform !== 'win32') fchmodSync(fd, 0o600);
    writeSync(fd, `${key.toString('base64')}\n`);
  } finally {
    closeSync(fd);
  }
  return key;
}

/**
 * The first line of a stream (the server's stdin from the desktop app), within `timeoutMs`: a parent that never
 * writes must not hold the server's start forever. An empty line means the platform has no secret storage: null,
 * and the server uses its 0600 file.
 */
export async function readMasterKeyLine(input: NodeJS.ReadableStream, timeoutMs = 10_000): Promise<Buffer | null> {
  const text = await new Promise<string>((resolve, reject) => {
    let buffer = '';
    const done = (error: Error | null) => {
      clearTimeout(timer);
      input.removeListener('data', onData);
      input.removeListener('end', onEnd);
      input.removeListener('error', onError);
      if (typeof (input as { pause?: () => void }).pause === 'function') input.pause();
      if (error) reject(error);
      else resolve(buffer.split('\n')[0]);
    };
    const onData = (chunk: Buffer | string) => {
      buffer += chunk.toString();
      if (buffer.includes('\n')) done(null);
    };
    const onEnd = () => done(buffer.length > 0 ? null : new MasterKeyError('stdin closed before a master key came'));
    const onError = (error: Error) => done(error);
    const timer = setTimeout(
      () => done(new MasterKeyError(`no master key on stdin within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    input.on('data', onData);
    input.once('end', onEnd);
    input.once('error', onError);
  });
  return text.trim() === '' ? null : parseMasterKey(text, 'stdin');
}
