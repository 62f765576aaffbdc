/**
 * Every kernel's TypeScript twin checks the kernel only if the two are written apart: a launcher in
 * engine/gpu/kernels/ must not import from engine/reference/, nor a twin from engine/gpu/kernels/ (what both need,
 * such as a parameter layout or the model's RoPE frequencies, lives in a neutral module).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const ENGINE = join(import.meta.dirname, '..', '..', 'engine');

function imports(dir: string): [string, string][] {
  return readdirSync(join(ENGINE, dir))
    .filter((f) => f.endsWith('.ts'))
    .flatMap((f) =>
      [...readFileSync(join(ENGINE, dir, f), 'utf8').matchAll(/^(?:import|export)[^;]*? from '([^']+)';/gms)].map(
        (m): [string, string] => [`${dir}/${f}`, m[1]],
      ),
    );
}

test('kernel launchers import nothing from the twins, and twins nothing from the launchers', () => {
  const kernels = imports(join('gpu', 'kernels'));
  const twins = imports('reference');
  assert.ok(kernels.length > 20 && twins.length > 10, 'the scan found the files');
  assert.deepEqual(
    kernels.filter(([, from]) => from.includes('/reference/')),
    [],
  );
  assert.deepEqual(
    twins.filter(([, from]) => from.includes('/gpu/kernels/') || from.includes('/kernels/')),
    [],
  );
});
