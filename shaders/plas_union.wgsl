// PLAS block lists: per unit (a prefill tile of consecutive queries of a sequence, or one decode query) and kv head,
// the sorted ids of the blocks selected by any of the unit's queries and any query head of the GQA group (the
// prefill token union and the decode head union in one), which the block-sparse attention then visits.
//
// Bindings: 0 p: Params (uniform); 1 selection: u32 [totalTokens, heads, words] (plas_select_topk.wgsl);
//   2 seqs: u32 [B, 4] = (queryOffset, numQueries, kvLength, tableOffset); 3 units: u32 [units, 4] =
//   (seq, first_query, count, dense); 4 lists: u32 [units, kv_heads, max_blocks]; 5 counts: u32 [units, kv_heads].
// Workgroup: WG threads (override); one workgroup per (unit, kv head), folded into 2-D (id = wg.x + wg.y * grid_x,
//   unit = id / kv_heads). Thread i handles selection words w0 + i of successive chunks of WG words.
// Computes: nb = min((position of the unit's last query) / block_size + 1, max_blocks). A dense unit lists 0 ..< nb without reading
//   the selection; otherwise word w of the union is the OR of word w over the unit's rows, limited to blocks < nb.
//   An exclusive scan of the words' bit counts places each word's block ids, so lists[unit, kvh, 0 ..< count] is
//   ascending. counts[unit, kvh] = count. Entries past the count are not written.

struct Params {
  heads: u32,
  kv_heads: u32,
  group: u32,
  block_size: u32,
  words: u32,
  max_blocks: u32,
  units: u32,
  grid_x: u32,
}

override WG: u32 = 64u; // a power of two

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> selection: array<u32>;
@group(0) @binding(2) var<storage, read> seqs: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> units: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read_write> lists: array<u32>;
@group(0) @binding(5) var<storage, read_write> counts: array<u32>;

var<workgroup> scan: array<u32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let id = wg.x + wg.y * p.grid_x;
  if (id >= p.units * p.kv_heads) { return; }
  let unit = units[id / p.kv_heads];
  let kvh = id % p.kv_heads;
  let s = seqs[unit.x];
  let nb = min((s.z - s.y + unit.y + unit.z - 1u) / p.block_size + 1u, p.max_blocks);
  let nwords = (nb + 31u) / 32u;
  let list = id * p.max_blocks;

  var total = 0u; // ids placed by earlier chunks
  for (var w0 = 0u; w0 < nwords; w0 += WG) {
    let w = w0 + tid;
    var bits = 0u;
    if (w < nwords) {
      if (unit.w != 0u) {
        bits = 0xffffffffu;
      } else {
        for (var t = unit.y; t < unit.y + unit.z; t++) {
          let row = ((s.x + t) * p.heads + kvh * p.group) * p.words + w;
          for (var g = 0u; g < p.group; g++) { bits |= selection[row + g * p.words]; }
        }
      }
      let valid = nb - w * 32u; // blocks of this word below nb
      if (valid < 32u) { bits &= (1u << valid) - 1u; }
    }
    let n = countOneBits(bits);
    scan[tid] = n;
    workgroupBarrier();
    for (var stride = 1u; stride < WG; stride *= 2u) {
      var add = 0u;
      if (tid >= stride) { add = scan[tid - stride]; }
      workgroupBarrier();
      scan[tid] += add;
      workgroupBarrier();
    }
    var at = list + total + scan[tid] - n; // exclusive prefix
    while (bits != 0u) {
      let b = firstTrailingBit(bits);
      lists[at] = w * 32u + b;
      at++;
      bits &= bits - 1u;
    }
    total += scan[WG - 1u];
    workgroupBarrier(); // the next chunk overwrites scan
  }
  if (tid == 0u) { counts[id] = total; }
}
