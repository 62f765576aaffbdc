/**
 * Every launcher's uniform layout (an exported UniformLayout in engine/gpu/kernels/) matches the `struct Params` of
 * its WGSL file field for field: same names, same scalar types, same order, hence the same byte offsets.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { readShader } from '../../../engine/gpu/shader-source.ts';
import type { UniformLayout } from '../../../engine/gpu/uniforms.ts';

const kernelsDir = join(import.meta.dirname, '..', '..', '..', 'engine', 'gpu', 'kernels');

function isLayout(value: unknown): value is UniformLayout<string> {
  return typeof value === 'object' && value !== null && 'fields' in value && 'shader' in value && 'pack' in value;
}

function wgslParams(source: string, file: string): [string, string][] {
  const match = /struct\s+Params\s*\{([^}]*)\}/.exec(source);
  assert.ok(match, `${file} has no struct Params`);
  return match[1]
    .replace(/\/\/.*$/gm, '') // comments first: they may hold commas and colons
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean)
    .map((f) => {
      const [name, type] = f.split(':').map((x) => x.trim());
      return [name, type];
    });
}

it('every uniform layout mirrors its WGSL struct Params', async () => {
  const layouts: UniformLayout<string>[] = [];
  for (const file of readdirSync(kernelsDir).filter((f) => f.endsWith('.ts'))) {
    const module = await import(join(kernelsDir, file));
    layouts.push(...Object.values(module).filter(isLayout));
  }
  assert.ok(layouts.length >= 1, 'found no uniform layouts');
  for (const layout of layouts) {
    const fields = wgslParams(readShader(layout.shader), layout.shader);
    assert.deepEqual(
      layout.fields.map(([name, type]) => [name, type]),
      fields,
      `${layout.kernel}: launcher fields differ from ${layout.shader} struct Params`,
    );
    for (const [, type] of fields)
      assert.match(type, /^(u32|i32|f32)$/, `${layout.shader}: only 4-byte scalars in Params`);
  }
});
