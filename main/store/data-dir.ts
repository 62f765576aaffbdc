/**
 * Where PLAS Studio keeps its database and the management token: the platform's per-user data folder, or --data-dir.
 * The folder is made (and kept) 0700 on POSIX systems, because the token in it opens the management API.
 */
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export interface DataDirEnv {
  platform: NodeJS.Platform;
  env: Record<string, string | undefined>;
  home: string;
}

/** The platform's default: XDG_DATA_HOME on Linux, Application Support on macOS, %APPDATA% on Windows. */
export function defaultDataDir(
  { platform, env, home }: DataDirEnv = { platform: process.platform, env: process.env, home: homedir() },
): string {
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'PLAS Studio');
  if (platform === 'win32') return join(env.APPDATA || join(home, 'AppData', 'Roaming'), 'PLAS Studio');
  // XDG says a relative XDG_DATA_HOME is invalid and must be ignored.
  const xdg = env.XDG_DATA_HOME;
  return join(xdg?.startsWith('/') ? xdg : join(home, '.local', 'share'), 'plas-studio');
}

/** Creates the folder (0700) when missing and tightens it to 0700 when it exists; returns its absolute path. */
export function ensureDataDir(dir: string): string {
  const abs = resolve(dir);
  mkdirSync(abs, { recursive: true, mode: 0o700 });
  const stat = statSync(abs);
  if (!stat.isDirectory()) throw new Error(`the data dir ${abs} is not a folder`);
  // Windows has no POSIX modes: %APPDATA% is already private to the user there.
  if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) chmodSync(abs, 0o700);
  return abs;
}
