import assert from 'node:assert/strict';

export interface Tolerance {
  /** Relative tolerance, against the largest magnitude in the expected values (robust to values near zero). */
  rtol: number;
  /** Absolute floor. */
  atol?: number;
}

/** Per-dtype tolerances from style.md: f32 ~1e-5 relative; 16-bit ~1e-2. */
export const TOL = {
  f32: { rtol: 1e-5, atol: 1e-6 },
  f16: { rtol: 1e-2, atol: 1e-3 },
  bf16: { rtol: 1e-2, atol: 1e-3 },
} as const satisfies Record<string, Tolerance>;

/**
 * Assert |actual - expected| <= atol + rtol * max|expected| elementwise, reporting the worst element and its index.
 * Scaling by the largest expected magnitude matches how accumulated f32 rounding grows with the result's size.
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
  what: string,
): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} != expected ${expected.length}`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  const bound = (tol.atol ?? 0) + tol.rtol * scale;
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    if (!(err <= bound) && (worst < 0 || !(err <= worstErr))) {
      worst = i;
      worstErr = err;
    }
  }
  if (worst >= 0) {
    assert.fail(
      `${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} ` +
        `(error ${worstErr.toExponential(3)} > bound ${bound.toExponential(3)}; max |expected| ${scale.toExponential(3)})`,
    );
  }
}
