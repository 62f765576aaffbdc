/**
 * Loads @mlc-ai/web-xgrammar in Node. The package says `"type": "module"` but its lib/index.js is a CommonJS/UMD
 * bundle, so both `import` and `require` of it fail ("require is not defined in ES module scope"). A copy of the same
 * file ending in .cjs loads as CommonJS; it is made on first use (so a fresh clone needs no extra install step) in
 * node_modules/.cache/plas-xgrammar/, or in the OS temp folder when node_modules is read-only (a packaged app).
 */
import { copyFileSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { threadId } from 'node:worker_threads';
import { GrammarUnavailableError } from './errors.ts';

export type XGrammar = typeof import('@mlc-ai/web-xgrammar');

const PACKAGE = '@mlc-ai/web-xgrammar';

/** Synchronous because it runs once at worker start, before any message is handled. */
export function loadXGrammar(): XGrammar {
  const require = createRequire(import.meta.url);
  let bundle: string;
  let version: string;
  try {
    bundle = require.resolve(`${PACKAGE}/lib/index.js`);
    version = (require(`${PACKAGE}/package.json`) as { version: string }).version;
  } catch (e) {
    throw new GrammarUnavailableError(
      `${PACKAGE} is not installed (${(e as Error).message.split('\n')[0]}); it is a dependency of PLAS Studio: ` +
        'reinstall the dependencies to use structured output',
    );
  }
  const copy = cachedCopy(bundle, version);
  try {
    return require(copy) as XGrammar;
  } catch (e) {
    throw new GrammarUnavailableError(
      `${PACKAGE} ${version} could not be loaded from ${copy}: ${(e as Error).message}`,
    );
  }
}

/** The .cjs copy of `bundle`, made if missing or of another size (a copy cut short by a crash). */
function cachedCopy(bundle: string, version: string): string {
  const name = `web-xgrammar-${version}.cjs`;
  const marker = `${sep}node_modules${sep}`;
  const at = bundle.lastIndexOf(marker);
  const folders = [
    ...(at >= 0 ? [join(bundle.slice(0, at + marker.length), '.cache', 'plas-xgrammar')] : []),
    join(tmpdir(), 'plas-xgrammar'),
  ];
  const size = statSync(bundle).size;
  const errors: string[] = [];
  for (const folder of folders) {
    const target = join(folder, name);
    try {
      if (statSync(target, { throwIfNoEntry: false })?.size === size) return target;
      mkdirSync(dirname(target), { recursive: true });
      // Copy then rename, so a second process (or worker) starting at the same time never loads half a file.
      const partial = `${target}.${process.pid}.${threadId}.partial`;
      copyFileSync(bundle, partial);
      renameSync(partial, target);
      return target;
    } catch (e) {
      errors.push(`${folder}: ${(e as Error).message}`);
    }
  }
  throw new GrammarUnavailableError(`could not write a CommonJS copy of ${bundle}: ${errors.join('; ')}`);
}
