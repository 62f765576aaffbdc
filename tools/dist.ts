/**
 * `npm run dist`: an installer for this platform (Linux AppImage and deb, macOS dmg, Windows nsis; electron-builder.yml).
 * Needs the network once, for Electron's binary and the Node runtime. Steps:
 *   1. the UI (vite) and the desktop shell (esbuild);
 *   2. the Node runtime for the target (node-runtime.ts);
 *   3. the server compiled with its production dependencies, native modules built against that runtime's headers;
 *   4. electron-builder.
 */
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { buildDesktop } from './build-desktop.ts';
import { buildServer } from './build-server.ts';
import { fetchNodeRuntime, NODE_RUNTIME_VERSION, type RuntimeTarget } from './node-runtime.ts';

const ROOT = resolve(import.meta.dirname, '..');
const run = (cmd: string, args: string[], env?: NodeJS.ProcessEnv) =>
  execFileSync(cmd, args, {
    cwd: ROOT,
    stdio: 'inherit',
    env: env ?? process.env,
    shell: process.platform === 'win32',
  });

const target: RuntimeTarget = {
  platform: process.platform as RuntimeTarget['platform'],
  arch: process.arch as RuntimeTarget['arch'],
};
if (!['linux', 'darwin', 'win32'].includes(target.platform) || !['x64', 'arm64'].includes(target.arch)) {
  console.error(`error: no installer for ${process.platform}-${process.arch}`);
  process.exit(1);
}

run('npm', ['run', 'build:renderer']);
await buildDesktop();
console.error(`fetching Node ${NODE_RUNTIME_VERSION} for ${target.platform}-${target.arch}...`);
const runtime = await fetchNodeRuntime(target);
// node-gyp builds better-sqlite3 against the shipped runtime's headers (its package carries include/node).
process.env.npm_config_nodedir = runtime;
process.env.npm_config_build_from_source = 'true';
buildServer();
const flag = { linux: '--linux', darwin: '--mac', win32: '--win' }[target.platform];
run(process.execPath, [join(ROOT, 'node_modules', 'electron-builder', 'cli.js'), flag, `--${target.arch}`]);
