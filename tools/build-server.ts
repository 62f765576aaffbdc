/**
 * Builds the server as the installed desktop app runs it, into build/server (or --out <dir>):
 *   engine/ and main/ compiled to JavaScript by tsc (tsconfig.server.json), the shaders, the bundled model and the
 *   built UI beside them in the same layout as the checkout (so every path the code computes from its own location
 *   still holds), and the production dependencies installed by `npm ci --omit=dev`.
 * Run it with `npm run build:server`; `npm run dist` runs it before electron-builder, which ships the folder as an
 * extra resource (electron-builder.yml). `--ignore-scripts` skips install scripts and copies the native modules
 * already built in this checkout instead (the test uses it: a fresh build of better-sqlite3 takes minutes).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = resolve(import.meta.dirname, '..');
export const SERVER_OUT = join(ROOT, 'build', 'server');

/** Native modules the server loads: built for plain Node (the server never runs inside Electron). */
export const NATIVE_BUILDS = ['node_modules/better-sqlite3/build/Release'];

export interface BuildServerOptions {
  outDir?: string;
  /** Skip npm install scripts and copy NATIVE_BUILDS from this checkout (same platform and Node only). */
  ignoreScripts?: boolean;
  log?: (message: string) => void;
}

/** Every file under `dir` that is not TypeScript (worker bootstraps and the like), relative to ROOT. */
function assets(dir: string, skip: (path: string) => boolean): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (skip(path)) continue;
    if (entry.isDirectory()) out.push(...assets(path, skip));
    else if (!entry.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

export function buildServer(o: BuildServerOptions = {}): string {
  const out = resolve(o.outDir ?? SERVER_OUT);
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  if (!existsSync(join(ROOT, 'renderer', 'dist', 'index.html'))) {
    throw new Error('renderer/dist is missing: run `npm run build:renderer` first');
  }
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });

  log('compiling engine/ and main/ with tsc...');
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.server.json'), '--outDir', out], {
    cwd: ROOT,
    stdio: 'inherit',
  });

  const skip = (p: string) => p.startsWith(join('main', 'electron'));
  for (const file of [...assets('engine', skip), ...assets('main', skip)]) {
    mkdirSync(dirname(join(out, file)), { recursive: true });
    cpSync(join(ROOT, file), join(out, file));
  }
  for (const dir of ['shaders', 'resources', join('renderer', 'dist')]) {
    cpSync(join(ROOT, dir), join(out, dir), { recursive: true });
  }

  // The checkout's package.json without its scripts (`prepare` would build the UI again, with dev tools that are not
  // installed); the lock file as it is, so `npm ci` installs exactly the tested versions.
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  delete pkg.scripts;
  delete pkg.main;
  writeFileSync(join(out, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  cpSync(join(ROOT, 'package-lock.json'), join(out, 'package-lock.json'));

  log(`installing production dependencies in ${relative(ROOT, out) || out}...`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const args = ['ci', '--omit=dev', '--no-audit', '--no-fund', ...(o.ignoreScripts ? ['--ignore-scripts'] : [])];
  execFileSync(npm, args, { cwd: out, stdio: ['ignore', 'inherit', 'inherit'], shell: process.platform === 'win32' });
  if (o.ignoreScripts) {
    for (const dir of NATIVE_BUILDS) cpSync(join(ROOT, dir), join(out, dir), { recursive: true });
  }
  return out;
}

if (process.argv[1] === import.meta.filename) {
  const { values } = parseArgs({ options: { out: { type: 'string' }, 'ignore-scripts': { type: 'boolean' } } });
  const out = buildServer({ outDir: values.out, ignoreScripts: values['ignore-scripts'] });
  console.error(`built the server into ${out}: run it with \`node ${join(out, 'main', 'cli', 'plas.js')} serve\``);
}
