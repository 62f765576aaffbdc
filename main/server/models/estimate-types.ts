/**
 * What GET /api/models/:name/estimate answers with. This file imports nothing: the renderer imports its types too
 * (`import type`), so the two sides cannot drift apart.
 */

/** The KV cache dtypes the engine offers (engine/kv/paged-layout.ts KvDType; estimate.ts checks they agree). */
export type KvCacheDType = 'f16' | 'f32';

/** GPU memory for a model's weights and one sequence's KV cache at a context length. */
export interface MemoryEstimate {
  context: number;
  pageSize: number;
  weightsBytes: number;
  /** The KV cache dtype the numbers are for. */
  kvDtype: KvCacheDType;
  kvBytes: number;
  /** PLAS key sums (0 when PLAS is off). */
  keySumBytes: number;
  /** KV bytes per token of context (all layers, K and V) at kvDtype. */
  kvBytesPerToken: number;
  /** The same at each dtype the engine offers (f16 is half of f32). */
  kvBytesPerTokenByDtype: Record<KvCacheDType, number>;
  totalBytes: number;
}
