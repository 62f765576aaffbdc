/**
 * The command that runs the server for the desktop app: `plas serve` on a free port with the user's data dir, on the
 * Node runtime the app ships (packaged) or the `node` that ran npm (development). Never Electron's own binary: the
 * engine's WebGPU binding cannot map buffers inside Electron's processes (architecture.md).
 */
import { join } from 'node:path';
import type { ServerCommand } from './server-supervisor.ts';

/** Environment variables of Electron's that would change what the child Node does. */
const ELECTRON_ENV = /^ELECTRON_/;

export function serverEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !ELECTRON_ENV.test(k)));
}

const serveArgs = (dataDir: string) => ['serve', '--port', '0', '--data-dir', dataDir];

/** From a source checkout: TypeScript through tsx, with the node that started `npm start`. */
export function developmentServerCommand(root: string, node: string, dataDir: string, env: NodeJS.ProcessEnv) {
  return {
    command: node,
    args: ['--import', 'tsx', join(root, 'main', 'cli', 'plas.ts'), ...serveArgs(dataDir)],
    cwd: root,
    env: serverEnv(env),
  } satisfies ServerCommand;
}

/**
 * From an installed app: `<resources>/node/bin/node` (node.exe on Windows) running the compiled server in
 * `<resources>/server` (tools/build-server.ts makes it; electron-builder.yml ships both as extra resources).
 */
export function packagedServerCommand(
  resources: string,
  platform: NodeJS.Platform,
  dataDir: string,
  env: NodeJS.ProcessEnv,
) {
  const node = platform === 'win32' ? join(resources, 'node', 'node.exe') : join(resources, 'node', 'bin', 'node');
  const server = join(resources, 'server');
  return {
    command: node,
    args: [join(server, 'main', 'cli', 'plas.js'), ...serveArgs(dataDir)],
    cwd: server,
    env: { ...serverEnv(env), NODE_ENV: 'production' },
  } satisfies ServerCommand;
}
