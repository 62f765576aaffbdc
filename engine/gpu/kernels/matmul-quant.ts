/**
 * The linear layers' entry point: out = x @ weight^T (+ bias) for a weight of any weight dtype (float or quantized:
 * matmul() builds its kernels with the type's weight library, which dequantizes the ggml blocks in registers), whole
 * or split by rows across buffers (a weight larger than one storage binding, e.g. a large vocabulary's LM head).
 * A split weight runs part by part: part p computes output columns rowStart ..< rowStart + rows, written straight
 * into `out` when out has one row and the part's columns start on a bindable offset, else into a scratch [M, rows]
 * copied row by row into its columns.
 */
import { expect, expectTensor } from '../check.ts';
import type { Step } from '../step.ts';
import type { Tensor } from '../tensor.ts';
import { type MatmulArgs, matmul } from './matmul.ts';

/** Byte offset a tensor bound on its own must start at (minStorageBufferOffsetAlignment is at most 256). */
const OFFSET_ALIGN = 256;

export function linear(step: Step, a: MatmulArgs): void {
  const parts = a.weight.parts;
  if (!parts) {
    matmul(step, a);
    return;
  }
  const kernel = 'linear';
  expectTensor(kernel, 'x', a.x, 'f32', ['M', 'K']);
  const [m, k] = a.x.shape;
  const n = a.weight.shape[0];
  expectTensor(kernel, 'out', a.out, 'f32', [m, n]);
  expect(kernel, !a.bias, () => 'a weight split across buffers takes no bias (only LM heads and embeddings split)');
  let next = 0;
  for (const { rowStart, tensor } of parts) {
    const rows = tensor.shape[0];
    expect(
      kernel,
      rowStart === next && tensor.shape[1] === k && tensor.dtype === a.weight.dtype,
      () => `weight part at row ${rowStart} (${tensor.dtype}[${tensor.shape.join(', ')}]) does not continue the weight`,
    );
    next = rowStart + rows;
    const direct = m === 1 && (a.out.offset + rowStart * 4) % OFFSET_ALIGN === 0;
    if (direct) {
      const out: Tensor = { ...a.out, shape: [1, rows], offset: a.out.offset + rowStart * 4 };
      matmul(step, { x: a.x, weight: tensor, out });
      continue;
    }
    const partOut = step.scratch('f32', [m, rows], `${a.out.label} part`);
    matmul(step, { x: a.x, weight: tensor, out: partOut });
    for (let row = 0; row < m; row++) {
      step.copy(
        { buffer: partOut.buffer, offset: partOut.offset + row * rows * 4, size: rows * 4 },
        { buffer: a.out.buffer, offset: a.out.offset + (row * n + rowStart) * 4, size: rows * 4 },
      );
    }
  }
  expect(kernel, next === n, () => `the weight's parts cover ${next} of its ${n} rows`);
}
