/**
 * The app's UI: the built Svelte renderer (renderer/dist) at `/`.
 * - Public: the HTML and JS carry no secret; the page reads `?token=` and sends it on /api and /v1 calls (auth.ts
 *   guards those, and the Host check guards every path, this one included).
 * - SPA fallback: a browser navigation (Accept: text/html) to a path without a file extension that is not a file
 *   (`/models`) gets index.html; API paths (/api, /v1, /metrics, /health) and other clients never do, so a mistyped
 *   URL from curl or an SDK stays a JSON 404.
 * - Hashed files under /assets/ are cached for a year; index.html and the rest are revalidated on every load.
 * - A strict Content-Security-Policy: only our own scripts, no inline script, no framing, no plugins.
 * - No path leaves renderer/dist: the decoded path is normalised, resolved and checked against the folder.
 * Before the routes are added, a stale or missing build is rebuilt (see ensureRendererBuilt): the check is a stat of
 * the renderer's sources, milliseconds.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { readFile, rename, rm, stat } from 'node:fs/promises';
import { extname, join, posix, resolve, sep } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
export const RENDERER_DIR = join(ROOT, 'renderer');
export const DIST_DIR = join(RENDERER_DIR, 'dist');
const VITE_BIN = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');

export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // No inline styles either: Svelte's component CSS is extracted into the built .css file. A component that needs
  // style: directives or transitions would need 'unsafe-inline' here (the browser tests fail on any CSP violation).
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

const API_PREFIXES = ['/api/', '/v1/', '/metrics', '/health'];

/** The newest modification time among the renderer's sources (not dist, not node_modules). */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Why the build must run, or null when renderer/dist is newer than every source (or there are no sources). */
export function staleReason(): string | null {
  if (!existsSync(join(RENDERER_DIR, 'index.html'))) return null; // a packaged app ships dist without sources
  const built = join(DIST_DIR, 'index.html');
  if (!existsSync(built)) return 'renderer/dist is missing';
  return newestSource(RENDERER_DIR) > statSync(built).mtimeMs ? 'renderer/dist is older than its sources' : null;
}

function runVite(outDir: string): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      [VITE_BIN, 'build', '--config', join(RENDERER_DIR, 'vite.config.ts'), '--outDir', outDir, '--emptyOutDir'],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    child.stderr.on('data', (c) => {
      err += c;
    });
    child.on('error', fail);
    child.on('exit', (code) => (code === 0 ? done() : fail(new Error(`vite build failed (${code}): ${err.trim()}`))));
  });
}

const LOCK = join(RENDERER_DIR, '.build-lock');
const LOCK_STALE_MS = 5 * 60_000;

/**
 * Builds renderer/dist when it is missing or stale. Several server processes may start at once (the tests run two
 * files at a time), so one builds under a lock folder (mkdir is atomic) into a temporary folder that then replaces
 * dist, and the others wait for the lock and check again.
 */
export async function ensureRendererBuilt(log: (m: string) => void = (m) => process.stderr.write(`${m}\n`)) {
  for (;;) {
    const reason = staleReason();
    if (reason === null) return;
    if (!existsSync(VITE_BIN)) throw new Error(`${reason}, and vite is not installed: run npm install`);
    try {
      mkdirSync(LOCK);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error; // e.g. a read-only install: say so
      // Another process builds; a lock left by one that died is taken over after a while.
      const held = statSync(LOCK, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > LOCK_STALE_MS) rmSync(LOCK, { force: true, recursive: true });
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    try {
      if (staleReason() === null) return; // another process finished between our check and the lock
      log(`building the app's UI (${reason})...`);
      const tmp = join(RENDERER_DIR, `.dist-${process.pid}`);
      await runVite(tmp);
      const old = join(RENDERER_DIR, `.dist-old-${process.pid}`);
      if (existsSync(DIST_DIR)) await rename(DIST_DIR, old);
      await rename(tmp, DIST_DIR);
      await rm(old, { recursive: true, force: true });
      return;
    } finally {
      rmSync(LOCK, { force: true, recursive: true });
    }
  }
}

/** The file under renderer/dist a URL path names, or null when it is malformed or would leave the folder. */
export function resolveInDist(urlPath: string, dist = DIST_DIR): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  // A `..` segment is refused outright, not normalised away: no legitimate link of the app contains one.
  if (decoded.includes('\0') || decoded.includes('\\') || decoded.split('/').includes('..')) return null;
  const normal = posix.normalize(decoded);
  const full = resolve(dist, `.${normal.startsWith('/') ? normal : `/${normal}`}`);
  return full === dist || full.startsWith(dist + sep) ? full : null;
}

async function fileAt(path: string | null): Promise<string | null> {
  if (path === null) return null;
  const s = await stat(path).catch(() => null);
  return s?.isFile() ? path : null;
}

function isApiPath(path: string): boolean {
  return API_PREFIXES.some((p) => path === p.replace(/\/$/, '') || path.startsWith(p));
}

async function send(reply: FastifyReply, path: string, immutable: boolean) {
  const type = TYPES[extname(path)] ?? 'application/octet-stream';
  return reply
    .code(200)
    .headers({
      'content-type': type,
      'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      'content-security-policy': CSP,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
    })
    .send(await readFile(path));
}

async function serve(request: FastifyRequest, reply: FastifyReply) {
  const path = request.url.split('?')[0];
  if (isApiPath(path)) return reply.callNotFound();
  const asked = await fileAt(resolveInDist(path === '/' ? '/index.html' : path));
  if (asked) return send(reply, asked, path.startsWith('/assets/'));
  // Only a browser's page navigation (it asks for text/html) to a page-like path falls back to the app: a missing
  // script or image stays a 404, and so does a mistyped URL from an API client (curl, SDKs), in OpenAI's shape.
  const wantsHtml = /\btext\/html\b/.test(request.headers.accept ?? '');
  if (!wantsHtml || extname(path) !== '' || resolveInDist(path) === null) return reply.callNotFound();
  const index = await fileAt(join(DIST_DIR, 'index.html'));
  if (!index) {
    return reply
      .code(503)
      .type('text/plain; charset=utf-8')
      .send("The app's UI is not built: run `npm run build:renderer` (the API under /v1 and /api works without it).");
  }
  return send(reply, index, false);
}

/** Registered with app.register(): the build check runs (awaited) when the app starts, before it listens. */
export async function staticRoutes(app: FastifyInstance): Promise<void> {
  try {
    await ensureRendererBuilt();
  } catch (error) {
    // The API is useful without the UI: say why the page is missing, and serve the rest.
    process.stderr.write(`warning: the app's UI could not be built: ${(error as Error).message}\n`);
  }
  app.get('/', serve);
  app.get('/*', serve);
}

export default staticRoutes;
