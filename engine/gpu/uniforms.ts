/**
 * Typed uniform structs that mirror a kernel's WGSL `struct Params`. Fields are 4-byte scalars in declaration order,
 * so the byte layout is simply 4 bytes a field, padded to 16; `test/engine/gpu/uniform-layout.test.ts` parses every
 * shader's struct and checks it against the launcher's declaration.
 */

export type ScalarType = 'u32' | 'i32' | 'f32';

export interface UniformLayout<F extends string> {
  readonly kernel: string;
  /** The WGSL file (under shaders/) whose `struct Params` this mirrors. */
  readonly shader: string;
  readonly fields: readonly (readonly [F, ScalarType])[];
  /** Struct size in bytes, rounded up to 16 as WGSL does for uniform structs. */
  readonly size: number;
  /** Pack values in field order; every field must be given and integers must fit their type. */
  pack(values: Record<F, number>): Uint8Array;
}

export function uniformLayout<F extends string>(
  kernel: string,
  shader: string,
  fields: readonly (readonly [F, ScalarType])[],
): UniformLayout<F> {
  const size = Math.max(16, Math.ceil((fields.length * 4) / 16) * 16);
  return {
    kernel,
    shader,
    fields,
    size,
    pack(values) {
      const bytes = new Uint8Array(size);
      const view = new DataView(bytes.buffer);
      fields.forEach(([name, type], i) => {
        const v = values[name];
        if (typeof v !== 'number' || Number.isNaN(v)) throw new Error(`${kernel}: uniform ${name} is ${v}`);
        if (type === 'f32') view.setFloat32(i * 4, v, true);
        else if (type === 'u32') {
          if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
            throw new Error(`${kernel}: uniform ${name}=${v} is not a u32`);
          view.setUint32(i * 4, v, true);
        } else {
          if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31)
            throw new Error(`${kernel}: uniform ${name}=${v} is not an i32`);
          view.setInt32(i * 4, v, true);
        }
      });
      return bytes;
    },
  };
}
