/**
 * Whether `npm start` can open the desktop window here, and how. Electron 45 downloads its binary on first use; on a
 * machine without network (these), without a display (a server, CI) or with PLAS_HEADLESS=1, it cannot, and
 * `npm start` serves the same app for a browser instead (start.ts). Nothing here imports `electron`: its index.js
 * would start the download as a side effect.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ElectronInstall {
  /** node_modules/electron, or null when the package is not installed. */
  packageDir: string | null;
  platform: NodeJS.Platform;
  env: Record<string, string | undefined>;
}

/** The Electron binary, when it is downloaded; null otherwise. */
export function electronBinary(packageDir: string): string | null {
  const pathFile = join(packageDir, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const binary = join(packageDir, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(binary) ? binary : null;
}

/** Why no window can open before trying the binary (null: try it). */
export function windowUnavailable({ packageDir, platform, env }: ElectronInstall): string | null {
  if (env.PLAS_HEADLESS === '1') return 'PLAS_HEADLESS=1 asks for the server alone';
  if (platform === 'linux' && !env.DISPLAY && !env.WAYLAND_DISPLAY) {
    return 'there is no display here (neither DISPLAY nor WAYLAND_DISPLAY is set)';
  }
  if (packageDir === null) return 'Electron is not installed (no node_modules/electron: run npm install)';
  return null;
}

/**
 * Downloads the binary as `electron`'s own installer does (on first launch of a fresh install), within `timeoutMs`.
 * Returns null when the binary is there afterwards, else why not (the installer's last line).
 */
export function downloadElectron(packageDir: string, timeoutMs = 180_000): string | null {
  process.stderr.write('Downloading the Electron binary (once, about 100 MB)...\n');
  const run = spawnSync(process.execPath, [join(packageDir, 'install.js')], {
    encoding: 'utf8',
    timeout: timeoutMs,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (electronBinary(packageDir)) return null;
  const output = `${run.stdout ?? ''}\n${run.stderr ?? ''}`.trim().split('\n').filter(Boolean);
  const last = run.error?.message ?? output.at(-1) ?? `the installer exited with ${run.status}`;
  return `the Electron binary could not be downloaded (${last.trim()})`;
}
