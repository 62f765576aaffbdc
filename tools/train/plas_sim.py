"""PLAS block selection simulated in PyTorch: pass-key accuracy when the sparse layers attend only to the blocks a
selection keeps, and the share of blocks kept, in prefill and in decode. For finding what makes retrieval survive
sparsity (which layer, which pooling, block size, top-k) in minutes, and for the model card's table at lengths the
engine on SwiftShader cannot afford; `plas eval retrieval` on the engine confirms it on fewer samples. Exploration
only: the engine's PLAS is its WGSL kernels and their TypeScript twins; this simulates their rules with an exact
top-k in place of the threshold search.

    python3 tools/train/plas_sim.py --model resources/models/plas-mini --probes PROBES.json \\
        --pooling dense,mean,gate --length 2048,4096,8192 --top-k 0.015 --decode-top-k 0.06 [--json FILE]

PROBES.json: tools/train/probes.ts writes the engine evaluation's own prompts (the default: WORK/probe-passkey.json
with --work, prepare.ts's probes). The model: --model (a Hugging Face folder) or --ckpt / WORK/ckpt.pt.

The rules, as the engine's refined top-k search (engine/plas, "topkSearch": "refined"):
- Per query row and KV head, blocks of --block tokens; a row's candidates are the blocks it can see. Block 0, the row's
  own block and the one before it are always kept; of the others the row keeps its top k by score (q . Kc over the
  GQA group's heads summed as a union: each head's top k, OR-ed), where Kc is the block's mean key (mean), the learned
  gate's weighted sum (gate), or, for the oracle, the true attention max-pooled per block; or (bound) not q . Kc but
  the key bound of the engine's "bound" block score (Quest's): sum_d max(q_d M_d, q_d m_d), M and m the block's
  per-channel key max and min; or (bound-gate) the learned gate in key-bound form, per channel learned weights of q's
  positive and negative parts on M and m (distil_gate.py --form bound). --pooling A/B scores prefill rows with A and
  decode rows with B.
- k: --top-k in prefill, --decode-top-k in decode steps, each a number of blocks or, below 1, a fraction of the
  blocks at the probe's length (the engine eval's scaling: ceil(f x ceil(length / block))); 1e9 = dense.
- Prefill rows share their choice over tiles of --tile tokens (the engine's union tile, 16); decode rows choose alone.
- Rows that see fewer tokens than --encoder-limit (prefill) or --decoder-limit (decode) attend densely (the engine's
  plas_use_*_seq_limit), and count as keeping every block.
- --layers: the sparse layers (default: all, as PLAS Mini's plas_config.json; --dense-last-layer leaves the last one
  dense).

Prefill runs once per probe in query chunks (exact, causal); the answer is decoded greedily with a KV cache, one
row per step, so an 8,192-token probe costs one prefill and a few cheap steps."""

import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from hf_folder import load_model as load_hf_model, read_safetensors  # noqa: E402
from model import LlamaForCausalLM, ModelConfig, apply_rotary  # noqa: E402

DENSE = 1e9
CHUNK = 512  # prefill query rows per step: a multiple of the tile, so tiles never straddle chunks


def load_gate(path):
    """From plas_attention_mlp_weight.safetensors: {"gate": {layer: W (kv_heads, block_size, head_dim)}, "bound-gate":
    {layer: G (kv_heads, 4, head_dim)}} (the sum and bound forms of distil_gate.py; either may be absent)."""
    forms = {"gate": {}, "bound-gate": {}}
    for name, t in read_safetensors(path).items():
        layer = int(name.split(".layers.")[1].split(".")[0])
        forms["bound-gate" if name.endswith(".bound_weight") else "gate"][layer] = t.float()
    return forms


class Selection:
    """One mode's rules and its running block counts: [kept, candidates] for prefill rows, then for decode rows."""

    def __init__(self, pooling, block, gate, sparse_layers, tile, limits):
        # "A/B": prefill rows score blocks with A, decode rows with B (e.g. gate/bound); one name: both
        self.phases = (pooling.split("/") + pooling.split("/"))[:2] if "/" in pooling else [pooling, pooling]
        self.pooling, self.block, self.gate = pooling, block, gate
        self.sparse_layers, self.tile, self.limits = sparse_layers, tile, limits
        self.kept = torch.zeros(4, dtype=torch.float64)
        self.top_k = (DENSE, DENSE)  # (prefill, decode) blocks; set per probe

    def block_keys(self, layer, k, pooling):  # k (kv, T, d) -> Kc (kv, nb, d) over the blocks present
        kv, T, d = k.shape
        B = self.block
        nb = (T + B - 1) // B
        blocks = F.pad(k, (0, 0, 0, nb * B - T)).view(kv, nb, B, d)
        if pooling == "gate":
            return (blocks * self.gate_of("gate", layer)[:, None]).sum(2)
        present = torch.clamp(T - torch.arange(nb) * B, max=B).float()
        return blocks.sum(2) / present[None, :, None]

    def gate_of(self, form, layer):
        if layer not in self.gate[form]:
            sys.exit(f"the gate file has no {form} for layer {layer}")
        return self.gate[form][layer]

    def bound_scores(self, q, k, rep, G=None):
        """Quest's upper bound of q . k over each block: sum_d max(q_d * max_p k_pd, q_d * min_p k_pd), from the
        block's per-channel key extremes (padding slots excluded). q (h, n, d), k (kv, T, d) -> (h, n, nb).
        With the bound-form gate G (kv, 4, d): sum_d (G0 q+ + G1 q-) M + (G2 q+ + G3 q-) m (distil_gate.py)."""
        kv, T, d = k.shape
        B = self.block
        nb = (T + B - 1) // B
        hi = F.pad(k, (0, 0, 0, nb * B - T), value=float("-inf")).view(kv, nb, B, d).amax(2)
        lo = F.pad(k, (0, 0, 0, nb * B - T), value=float("inf")).view(kv, nb, B, d).amin(2)
        hi, lo = hi.repeat_interleave(rep, 0), lo.repeat_interleave(rep, 0)  # (h, nb, d)
        # max(q_d M_d, q_d m_d) is q_d M_d where q_d > 0 and q_d m_d elsewhere: two matrix products, no (n, nb, d) tensor
        pos, neg = q.clamp(min=0), q.clamp(max=0)
        if G is None:
            return pos @ hi.transpose(-1, -2) + neg @ lo.transpose(-1, -2)
        G = G.repeat_interleave(rep, 0)[:, :, None]  # (h, 4, 1, d)
        return (G[:, 0] * pos + G[:, 1] * neg) @ hi.transpose(-1, -2) + (G[:, 2] * pos + G[:, 3] * neg) @ lo.transpose(-1, -2)

    def keep(self, scores, positions, top_k, tile):
        """scores (h, n, nb) for rows at `positions` (n,) -> kept blocks (kv, n, nb), with the forced blocks, the
        GQA group's union and the tile union; rows below the dense limit keep every candidate."""
        h, n, nb = scores.shape
        kv = self.kv
        own = positions // self.block
        b = torch.arange(nb)
        candidate = b[None, :] <= own[:, None]  # (n, nb)
        forced = (b[None, :] == 0) | (b[None, :] == own[:, None]) | (b[None, :] == (own - 1)[:, None])
        free = candidate & ~forced
        k = min(int(top_k), nb)
        s = scores.masked_fill(~free[None], float("-inf"))
        chosen = torch.zeros_like(s, dtype=torch.bool)
        if k > 0:
            top = s.topk(k, -1).indices
            chosen.scatter_(-1, top, True)
        keep = ((chosen & free[None]) | forced[None]).view(kv, h // kv, n, nb).any(1)  # (kv, n, nb)
        if tile > 1:  # rows start tile-aligned; a last partial tile is padded
            tiles = (n + tile - 1) // tile
            u = F.pad(keep, (0, 0, 0, tiles * tile - n)).view(kv, tiles, tile, nb).any(2)
            keep = u.repeat_interleave(tile, 1)[:, :n] & candidate[None]
        return keep, candidate

    def attend(self, layer, q, k, v, start, decode):
        """Rows start .. start + n - 1 of q (h, n, d) over keys k, v (kv, start + n, d) -> (h, n, d)."""
        h, n, d = q.shape
        kv, T, _ = k.shape
        rep, B = h // kv, self.block
        self.kv = kv
        k_rep, v_rep = k.repeat_interleave(rep, 0), v.repeat_interleave(rep, 0)
        positions = torch.arange(start, start + n)
        logits = (q @ k_rep.transpose(-1, -2)) / math.sqrt(d)  # (h, n, T)
        logits = logits.masked_fill(torch.arange(T)[None, :] > positions[:, None], float("-inf"))
        top_k = self.top_k[1 if decode else 0]
        pooling = self.phases[1 if decode else 0]
        if pooling == "dense" or layer not in self.sparse_layers or top_k >= DENSE:
            return logits.softmax(-1) @ v_rep
        nb = (T + B - 1) // B
        if pooling == "oracle":
            probs = F.pad(logits.softmax(-1), (0, nb * B - T))
            scores = probs.view(h, n, nb, B).amax(-1)
        elif pooling == "bound":
            scores = self.bound_scores(q, k, rep)
        elif pooling == "bound-gate":
            scores = self.bound_scores(q, k, rep, self.gate_of("bound-gate", layer))
        else:
            scores = q @ self.block_keys(layer, k, pooling).repeat_interleave(rep, 0).transpose(-1, -2)  # (h, n, nb)
        keep, candidate = self.keep(scores, positions, top_k, 1 if decode else self.tile)
        limit = self.limits[1 if decode else 0]
        if decode:
            dense_rows = positions + 1 < limit
        else:  # a tile is dense when its last row sees fewer tokens than the limit, as the engine's plan decides
            last = (positions // self.tile) * self.tile + self.tile - 1
            dense_rows = last + 1 < limit
        keep = keep | (dense_rows[None, :, None] & candidate[None])
        i = 2 if decode else 0
        self.kept[i] += keep.sum().item()
        self.kept[i + 1] += candidate.sum().item() * kv
        tokens = keep.repeat_interleave(B, -1)[..., :T].repeat_interleave(rep, 0)  # (h, n, T)
        return logits.masked_fill(~tokens, float("-inf")).softmax(-1) @ v_rep


def run_layers(model, sel, x, start, caches, decode):
    """x (1, n, hidden) at positions start ..; caches: per layer [k, v] (kv, start, d), extended in place."""
    cfg = model.cfg
    h, kv, d = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
    n = x.shape[1]
    cos, sin = model.rope(start + n)
    cos, sin = cos[start:], sin[start:]
    for i, layer in enumerate(model.model.layers):
        at, y = layer.self_attn, layer.input_layernorm(x)
        q = apply_rotary(at.q_proj(y).view(1, n, h, d).transpose(1, 2), cos, sin)[0]
        k = apply_rotary(at.k_proj(y).view(1, n, kv, d).transpose(1, 2), cos, sin)[0]
        v = at.v_proj(y).view(1, n, kv, d).transpose(1, 2)[0]
        caches[i][0] = torch.cat([caches[i][0], k], 1)
        caches[i][1] = torch.cat([caches[i][1], v], 1)
        out = sel.attend(i, q, caches[i][0], caches[i][1], start, decode)
        x = x + at.o_proj(out.transpose(0, 1).reshape(1, n, h * d))
        x = x + layer.mlp(layer.post_attention_layernorm(x))
    return model.model.norm(x[:, -1]) @ model.model.embed_tokens.weight.T  # (1, vocab): the last row's logits


def prefill(model, sel, ids):
    """Chunked prefill (each chunk's rows see the cache so far) -> (caches, the last row's logits)."""
    cfg = model.cfg
    empty = torch.zeros(cfg.num_key_value_heads, 0, cfg.head_dim)
    caches = [[empty, empty] for _ in model.model.layers]
    # Layer by layer over the whole prompt would hold every layer's activations; chunk by chunk through all layers
    # is the same computation (causal) and keeps memory to one chunk's rows.
    for start in range(0, len(ids), CHUNK):
        x = model.model.embed_tokens(torch.tensor([ids[start : start + CHUNK]]))
        logits = run_layers(model, sel, x, start, caches, decode=False)
    return caches, logits


def decode(model, sel, ids, steps, caches, logits):
    """Greedy tokens after the prefill of `ids` (its caches are not changed: each step makes new tensors)."""
    caches = [list(layer) for layer in caches]
    out = []
    for step in range(steps):
        token = int(logits[0].argmax())
        out.append(token)
        if step + 1 < steps:
            x = model.model.embed_tokens(torch.tensor([[token]]))
            logits = run_layers(model, sel, x, len(ids) + step, caches, decode=True)
    return out


def blocks_for(value, length, block):
    """A top-k flag in blocks: a count, or below 1 a fraction of the blocks at `length` (the engine eval's scaling)."""
    if value >= DENSE:
        return DENSE
    return max(1, math.ceil(value * math.ceil(length / block))) if value < 1 else int(value)


def progress(what, done, total, started):
    """A live line on stderr with an estimate of the time left, when stderr is a terminal (cleared with what="")."""
    if not sys.stderr.isatty():
        return
    if not what:
        sys.stderr.write("\r\x1b[K")
    else:
        left = f", ~{(time.time() - started) / done * (total - done) / 60:.1f} min left" if done else ""
        sys.stderr.write(f"\r\x1b[K[plas_sim] {what}{left}")
    sys.stderr.flush()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", help="WORK with ckpt.pt and probe-passkey.json")
    p.add_argument("--ckpt", help="a checkpoint (default WORK/ckpt.pt)")
    p.add_argument("--model", help="a Hugging Face model folder instead of a checkpoint")
    p.add_argument("--probes", help="probes file (default WORK/probe-passkey.json)")
    p.add_argument("--gate", help="gate file (default MODEL/plas_attention_mlp_weight.safetensors)")
    p.add_argument(
        "--pooling",
        default="mean",
        help="comma-separated: dense, mean, gate, oracle, bound (Quest's key min/max bound), bound-gate (the gate in "
        "key-bound form, distil_gate.py --form bound), or PREFILL/DECODE "
        "(e.g. gate/bound: the gate in prefill, key bounds in decode)",
    )
    p.add_argument("--block", type=int, default=32)
    p.add_argument("--top-k", type=float, default=1, help="prefill blocks per row besides the forced ones")
    p.add_argument("--decode-top-k", type=float, help="decode blocks per row (default: --top-k); 1e9 = dense")
    p.add_argument("--tile", type=int, default=16, help="tokens of a prefill union tile (the engine's: 16)")
    p.add_argument("--encoder-limit", type=int, default=0, help="prefill rows seeing fewer tokens attend densely")
    p.add_argument("--decoder-limit", type=int, default=0, help="decode rows seeing fewer tokens attend densely")
    p.add_argument("--layers", type=lambda v: [int(x) for x in v.split(",")], help="sparse layers (default: all)")
    p.add_argument("--dense-last-layer", action="store_true")
    p.add_argument("--length", default="2048", help="comma-separated probe lengths")
    p.add_argument("--samples", type=int, default=50, help="probes per length (at most)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", help="append one JSON line per row to this file too")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    if CHUNK % a.tile:
        sys.exit(f"--tile must divide {CHUNK}")
    if a.model:
        model = load_hf_model(a.model)
    else:
        if not (a.ckpt or a.work):
            sys.exit("give --model, --ckpt or --work")
        state = torch.load(a.ckpt or os.path.join(a.work, "ckpt.pt"))
        model = LlamaForCausalLM(ModelConfig(**state["config"]))
        model.load_state_dict(state["model"])
    model.eval()
    poolings = a.pooling.split(",")
    for pooling in poolings:
        for phase in pooling.split("/"):
            if phase not in ("dense", "mean", "gate", "oracle", "bound", "bound-gate"):
                sys.exit(f"--pooling: unknown {phase}")
    gate = {"gate": {}, "bound-gate": {}}
    if any(phase in ("gate", "bound-gate") for pooling in poolings for phase in pooling.split("/")):
        path = a.gate or os.path.join(a.model or "", "plas_attention_mlp_weight.safetensors")
        gate = load_gate(path)
        for layer, w in gate["gate"].items():
            if w.shape[1] != a.block:
                sys.exit(f"{path}: layer {layer}'s gate is for blocks of {w.shape[1]} tokens, not --block {a.block}")
    layers = model.cfg.num_hidden_layers
    sparse = set(a.layers) if a.layers else set(range(layers - 1 if a.dense_last_layer else layers))
    probes_path = a.probes or os.path.join(a.work or "", "probe-passkey.json")
    with open(probes_path) as f:
        probes = json.load(f)
    decode_top_k = a.decode_top_k if a.decode_top_k is not None else a.top_k
    for length in [int(x) for x in a.length.split(",")]:
        chosen = [x for x in probes if x["length"] == length][: a.samples]
        if not chosen:
            sys.exit(f"{probes_path}: no probes of length {length}")
        sels = {}
        for pooling in poolings:
            sel = Selection(pooling, a.block, gate, sparse, a.tile, (a.encoder_limit, a.decoder_limit))
            sel.top_k = (blocks_for(a.top_k, length, a.block), blocks_for(decode_top_k, length, a.block))
            sels[pooling] = sel
        # Modes that score prefill alike share each probe's prefill (most of a probe's time): run once, decoded by each.
        by_prefill = {}
        for pooling, sel in sels.items():
            by_prefill.setdefault(sel.phases[0], []).append(sel)
        results = {pooling: {"correct": 0, "misses": [], "each": [], "seconds": 0.0} for pooling in poolings}
        length_started = time.time()
        with torch.no_grad():
            for done, probe in enumerate(chosen):
                progress(f"{length} tokens: probe {done + 1}/{len(chosen)}", done, len(chosen), length_started)
                ids, want = list(probe["ids"]), probe["answerIds"]
                for group in by_prefill.values():
                    started, first = time.time(), group[0]
                    before = first.kept[:2].clone()
                    caches, logits = prefill(model, first, ids)
                    for sel in group[1:]:
                        sel.kept[:2] += first.kept[:2] - before
                    shared = (time.time() - started) / len(group)
                    for sel in group:
                        started = time.time()
                        out = decode(model, sel, ids, len(want), caches, logits)
                        r = results[sel.pooling]
                        r["correct"] += out == want
                        r["each"].append(int(out == want))
                        if out != want:
                            r["misses"].append(round(probe["depth"], 2))
                        r["seconds"] += shared + time.time() - started
        progress("", 0, 0, 0)
        for pooling, sel in sels.items():
            r = results[pooling]
            correct, misses, each = r["correct"], r["misses"], r["each"]
            k = sel.kept
            row = {
                "length": length, "pooling": pooling, "block": a.block, "samples": len(chosen),
                "accuracy": f"{correct}/{len(chosen)}", "correct": correct, "missed_depths": misses,
                "per_probe": "".join(map(str, each)),  # 1 = correct, in probe order: compare with the engine's
                "top_k": None if pooling == "dense" else [sel.top_k[0], sel.top_k[1]],
                "decoder_limit": a.decoder_limit, "encoder_limit": a.encoder_limit,
                "prefill_density": round((k[0] / k[1]).item(), 4) if k[1] else 1.0,
                "decode_density": round((k[2] / k[3]).item(), 4) if k[3] else 1.0,
                "sparse_layers": sorted(sparse), "seconds": round(r["seconds"], 1),
            }
            print(json.dumps(row), flush=True)
            if a.json:
                with open(a.json, "a") as f:
                    f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
