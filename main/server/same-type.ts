/**
 * Type-level checks that a shape declared once for the renderer (an import-free *-types.ts file) and the type the
 * server builds it from agree: `type _Check = Agree<Same<A, B>>` fails to compile where the two drift apart.
 * Types only: nothing here runs.
 */

/** true when A and B are the same type (not merely assignable one way). */
export type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** Compiles only for `true`. */
export type Agree<T extends true> = T;
