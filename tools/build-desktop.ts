/**
 * Builds the desktop shell into build/electron: main.mjs (Electron's main process), preload.cjs (sandboxed preloads
 * must be one CommonJS file) and the starting page (starting.html, .css, .js). esbuild bundles each from
 * main/electron/, so the IPC contract is compiled into all three from its one source. Takes well under a second;
 * `npm start` runs it before opening the window, `npm run dist` before packaging.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const ROOT = join(import.meta.dirname, '..');
const SRC = join(ROOT, 'main', 'electron');
export const DESKTOP_OUT = join(ROOT, 'build', 'electron');

export async function buildDesktop(outDir = DESKTOP_OUT): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const common = { bundle: true, logLevel: 'warning', legalComments: 'none', sourcemap: 'linked' } as const;
  await Promise.all([
    build({
      ...common,
      entryPoints: [join(SRC, 'main.ts')],
      outfile: join(outDir, 'main.mjs'),
      platform: 'node',
      format: 'esm',
      target: 'node22',
      external: ['electron'],
    }),
    build({
      ...common,
      entryPoints: [join(SRC, 'preload.ts')],
      outfile: join(outDir, 'preload.cjs'),
      platform: 'node',
      format: 'cjs',
      target: 'node22',
      external: ['electron'],
    }),
    build({
      ...common,
      entryPoints: [join(SRC, 'starting.ts')],
      outfile: join(outDir, 'starting.js'),
      platform: 'browser',
      format: 'iife',
      target: 'chrome130',
    }),
  ]);
  for (const file of ['starting.html', 'starting.css']) copyFileSync(join(SRC, file), join(outDir, file));
}

if (process.argv[1] === import.meta.filename) {
  await buildDesktop();
  console.error(`built the desktop shell into ${DESKTOP_OUT}`);
}
