/**
 * GGUF metadata values. Each value keeps its GGUF type, so a file read and written again is the same file, and so a
 * reader can tell a u32 from an i32 when it must. Numeric arrays are typed arrays (a vocabulary's 150k token types
 * or scores cost their bytes, not 150k JS numbers); 64-bit integers are bigint.
 */

/** Value type ids, in the order GGUF numbers them (gguf_type). */
export const VALUE_TYPES = [
  'u8',
  'i8',
  'u16',
  'i16',
  'u32',
  'i32',
  'f32',
  'bool',
  'string',
  'array',
  'u64',
  'i64',
  'f64',
] as const;
export type GgufValueType = (typeof VALUE_TYPES)[number];

export type GgufNumberType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'f64';
export type GgufBigIntType = 'u64' | 'i64';

export type GgufArrayItems =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigUint64Array
  | BigInt64Array
  | boolean[]
  | string[]
  | GgufArray[];

export interface GgufArray {
  type: 'array';
  itemType: GgufValueType;
  items: GgufArrayItems;
}

export type GgufValue =
  | { type: GgufNumberType; value: number }
  | { type: GgufBigIntType; value: bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | GgufArray;

/** Bytes of one value of a fixed-size type; strings and arrays have none. */
export const FIXED_SIZE: Partial<Record<GgufValueType, number>> = {
  u8: 1,
  i8: 1,
  u16: 2,
  i16: 2,
  u32: 4,
  i32: 4,
  f32: 4,
  bool: 1,
  u64: 8,
  i64: 8,
  f64: 8,
};

/** The typed array class for a numeric item type. */
export const TYPED_ARRAYS = {
  u8: Uint8Array,
  i8: Int8Array,
  u16: Uint16Array,
  i16: Int16Array,
  u32: Uint32Array,
  i32: Int32Array,
  f32: Float32Array,
  f64: Float64Array,
  u64: BigUint64Array,
  i64: BigInt64Array,
} as const;

/** Constructors for writing metadata by hand (tests, fixtures). */
export const gguf = {
  u8: (value: number): GgufValue => ({ type: 'u8', value }),
  i8: (value: number): GgufValue => ({ type: 'i8', value }),
  u16: (value: number): GgufValue => ({ type: 'u16', value }),
  i16: (value: number): GgufValue => ({ type: 'i16', value }),
  u32: (value: number): GgufValue => ({ type: 'u32', value }),
  i32: (value: number): GgufValue => ({ type: 'i32', value }),
  f32: (value: number): GgufValue => ({ type: 'f32', value }),
  f64: (value: number): GgufValue => ({ type: 'f64', value }),
  u64: (value: bigint): GgufValue => ({ type: 'u64', value }),
  i64: (value: bigint): GgufValue => ({ type: 'i64', value }),
  bool: (value: boolean): GgufValue => ({ type: 'bool', value }),
  string: (value: string): GgufValue => ({ type: 'string', value }),
  strings: (items: string[]): GgufArray => ({ type: 'array', itemType: 'string', items }),
  array: (itemType: GgufValueType, items: GgufArrayItems): GgufArray => ({ type: 'array', itemType, items }),
};

/** For messages: "u32 7", "string \"llama\"", "array of 3 string". */
export function describeGgufValue(v: GgufValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v.type === 'array') return `an array of ${v.items.length} ${v.itemType}`;
  if (v.type === 'string')
    return `the string ${JSON.stringify(v.value.length > 40 ? `${v.value.slice(0, 40)}…` : v.value)}`;
  return `${v.type} ${String(v.value)}`;
}
