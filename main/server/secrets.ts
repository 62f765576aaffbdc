/**
 * The management token (a fresh one at each launch, written 0600 to `<data-dir>/server.token` for the desktop app) and
 * the constant-time comparison every credential check uses.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, fchmodSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const TOKEN_FILE = 'server.token';

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Writes the token file readable by the user alone (also when an older, wider one is there). */
export function writeTokenFile(dataDir: string, token: string): string {
  const path = join(dataDir, TOKEN_FILE);
  const fd = openSync(path, 'w', 0o600);
  try {
    if (process.platform !== 'win32') fchmodSync(fd, 0o600); // the mode above applies only to a new file
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
  return path;
}

/**
 * Compares in time independent of where the strings differ: both sides are hashed first, so their lengths leak
 * nothing either (timingSafeEqual itself needs equal lengths).
 */
export function safeEqual(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
