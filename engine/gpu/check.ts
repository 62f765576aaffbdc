/**
 * Argument checks for launchers: each failure names the kernel, the argument, what was expected and what was given,
 * before any GPU work is recorded.
 */
import type { DType } from './dtype.ts';
import { KernelArgumentError } from './errors.ts';
import { shapeString, type Tensor } from './tensor.ts';

/** A dimension in an expected shape: a number must match exactly; a string names a free dimension (for messages). */
export type Dim = number | string;

export function expectTensor(
  kernel: string,
  name: string,
  t: Tensor | undefined,
  dtypes: DType | readonly DType[],
  shape: readonly Dim[],
): void {
  const allowed = typeof dtypes === 'string' ? [dtypes] : dtypes;
  const expected = `${allowed.join('|')}[${shape.join(', ')}]`;
  if (!t) throw new KernelArgumentError(kernel, `${name} is missing (expected ${expected})`);
  const ok =
    allowed.includes(t.dtype) &&
    t.shape.length === shape.length &&
    shape.every((d, i) => typeof d === 'string' || d === t.shape[i]);
  if (!ok) throw new KernelArgumentError(kernel, `${name} must be ${expected}, got ${shapeString(t)}`);
}

export function expect(kernel: string, condition: boolean, detail: () => string): asserts condition {
  if (!condition) throw new KernelArgumentError(kernel, detail());
}

export function expectDistinct(kernel: string, tensors: Record<string, Tensor | undefined>): void {
  const seen = new Map<GPUBuffer, string>();
  for (const [name, t] of Object.entries(tensors)) {
    if (!t) continue;
    const other = seen.get(t.buffer);
    if (other)
      throw new KernelArgumentError(kernel, `${name} and ${other} share a buffer; the kernel cannot run in place`);
    seen.set(t.buffer, name);
  }
}

/** A grid of `count` workgroups folded into 2-D when it exceeds the per-dimension limit (the shader unfolds it). */
export function grid(count: number, maxPerDim: number): [number, number] {
  if (count <= maxPerDim) return [count, 1];
  const y = Math.ceil(count / maxPerDim);
  return [Math.ceil(count / y), y];
}

export function nextPowerOfTwo(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, n)));
}
