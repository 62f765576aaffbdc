/**
 * `npm start`: the desktop window where Electron can start; where it cannot (no display, no Electron binary and no
 * network to fetch it, PLAS_HEADLESS=1), the same server and app for a browser, saying why and printing the URL.
 * Flags after `npm start --` go to `plas serve` in that case (`npm start -- --port 9000`).
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { buildDesktop } from '../../tools/build-desktop.ts';
import { downloadElectron, electronBinary, windowUnavailable } from './electron-launch.ts';
import { runPlas } from './plas.ts';

const ROOT = join(import.meta.dirname, '..', '..');

function electronPackageDir(): string | null {
  try {
    return dirname(createRequire(import.meta.url).resolve('electron/package.json'));
  } catch {
    return null;
  }
}

async function openWindow(binary: string): Promise<never> {
  await buildDesktop();
  const child = spawn(binary, [ROOT], {
    stdio: 'inherit',
    // The server runs on this very node (not Electron's); the shell finds the checkout through PLAS_ROOT.
    env: { ...process.env, PLAS_NODE: process.execPath, PLAS_ROOT: ROOT },
  });
  const code = await new Promise<number>((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
  process.exit(code);
}

function whyNoWindow(): { binary: string } | { reason: string } {
  const packageDir = electronPackageDir();
  const reason = windowUnavailable({ packageDir, platform: process.platform, env: process.env });
  if (reason !== null || packageDir === null) return { reason: reason ?? 'Electron is not installed' };
  const binary = electronBinary(packageDir);
  if (binary) return { binary };
  const failed = downloadElectron(packageDir);
  const downloaded = electronBinary(packageDir);
  return downloaded ? { binary: downloaded } : { reason: failed ?? 'the Electron binary is missing' };
}

const decision = whyNoWindow();
if ('binary' in decision) await openWindow(decision.binary);
else {
  process.stderr.write(
    `No desktop window: ${decision.reason}.\nStarting the server instead: open the address below in a browser.\n`,
  );
  await runPlas([process.argv[0], 'plas', 'serve', ...process.argv.slice(2)]);
}
