/**
 * TypeScript twin of shaders/plas_union.wgsl: per unit (a prefill tile of consecutive queries, or one decode query)
 * and kv head, the sorted ids of the blocks any of its rows selected: the OR over the unit's queries and the query
 * heads of the GQA group, limited to the blocks the unit's last query sees. A dense unit lists every such block.
 * selection: u32 [totalTokens, heads, words]; units: u32 [U, 4] = (seq, firstQuery, count, dense).
 */
import { SEQ_COLUMNS, SEQ_KV_LENGTH, SEQ_NUM_QUERIES, SEQ_QUERY_OFFSET } from '../kv/paged-layout.ts';

export interface UnionShape {
  heads: number;
  kvHeads: number;
  blockSize: number;
  words: number;
}

/** Returns lists[unit * kvHeads + kvh] = ascending block ids. */
export function plasUnion(selection: Uint32Array, seqs: Uint32Array, units: Uint32Array, s: UnionShape): number[][] {
  const group = s.heads / s.kvHeads;
  const lists: number[][] = [];
  for (let u = 0; u < units.length / 4; u++) {
    const [seq, firstQuery, count, dense] = units.subarray(u * 4, u * 4 + 4);
    const sq = seqs.subarray(seq * SEQ_COLUMNS, (seq + 1) * SEQ_COLUMNS);
    const lastPos = sq[SEQ_KV_LENGTH] - sq[SEQ_NUM_QUERIES] + firstQuery + count - 1;
    const nb = Math.floor(lastPos / s.blockSize) + 1;
    for (let kvh = 0; kvh < s.kvHeads; kvh++) {
      const list: number[] = [];
      for (let b = 0; b < nb; b++) {
        let hit = dense !== 0;
        for (let t = firstQuery; t < firstQuery + count && !hit; t++) {
          const row = sq[SEQ_QUERY_OFFSET] + t;
          for (let g = 0; g < group && !hit; g++) {
            const word = selection[(row * s.heads + kvh * group + g) * s.words + (b >> 5)];
            hit = ((word >>> (b & 31)) & 1) === 1;
          }
        }
        if (hit) list.push(b);
      }
      lists.push(list);
    }
  }
  return lists;
}
