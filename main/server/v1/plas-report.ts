/**
 * The `plas` extension's answer: what the request attended, from the engine's AttentionReport, on the response (and
 * the final streamed chunk). Choices share the prompt, so densities are the first choice's; blocks add up. The
 * per-layer densities (index = layer) are null where no step of that kind was sampled: a client can tell "dense"
 * (1) from "not measured" (a short reply whose decode steps were not among the sampled ones).
 */
import type { PlasConfig, TopkSearch } from '../../../engine/plas/config.ts';
import type { AttentionReport } from '../../../engine/serving/types.ts';

export type PlasOut = {
  backend: 'dense' | 'plas';
  prefill_density: number;
  decode_density: number;
  blocks_selected: number;
  blocks_candidate: number;
  prefill_layer_density?: (number | null)[];
  decode_layer_density?: (number | null)[];
} & Omit<PlasConfig, 'denseLastLayer' | 'topkSearch'> & { dense_last_layer: boolean; topk_search: TopkSearch };

export function plasReport(reports: readonly (AttentionReport | undefined)[]): PlasOut | undefined {
  const present = reports.filter((r): r is AttentionReport => r !== undefined);
  if (present.length === 0) return undefined;
  const first = present[0];
  const { denseLastLayer, topkSearch, ...ranges } = first.plas;
  return {
    backend: first.backend,
    prefill_density: first.prefillDensity,
    decode_density: first.decodeDensity,
    blocks_selected: present.reduce((n, r) => n + r.blocksSelected, 0),
    blocks_candidate: present.reduce((n, r) => n + r.blocksCandidate, 0),
    ...(first.layerDensity && {
      prefill_layer_density: first.layerDensity.prefill,
      decode_layer_density: first.layerDensity.decode,
    }),
    ...ranges,
    dense_last_layer: denseLastLayer,
    topk_search: topkSearch,
  };
}
