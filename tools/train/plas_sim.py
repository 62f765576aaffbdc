"""PLAS block selection simulated in PyTorch on a training checkpoint: pass-key accuracy on probe.py's prompts when
the sparse layers attend only to the blocks a selection keeps, and the share of blocks kept. For finding what makes
retrieval survive sparsity (which layer, which queries, which pooling, block size, top-k, union) in minutes, before
measuring the answer on the engine with `plas eval retrieval`. Exploration only: the engine's PLAS is its WGSL kernels
and their TypeScript twins; this simulates their rules with exact top-k in place of the binary search.

    python3 tools/train/plas_sim.py --work WORK [--pooling mean|gate|oracle|dense] [--top-k 5] [--block 64]

Selection, per query row and head, over the blocks the row can see: scores = q . Kc (Kc = the block's mean key, or
the learned gate's weighted sum of --gate), or for the oracle the true attention max-pooled per block; keep the
--top-k best (a number of blocks, or below 1 a fraction of the row's candidates) and always block 0, the row's own
block and the one before it. Rows then share blocks as the engine does: the GQA group's heads and --tile consecutive
tokens take the union of their choices (--union or), or choose once from their summed scores (--union pooled)."""

import argparse
import json
import math
import os
import struct
import sys

import torch
import torch.nn.functional as F

from model import LlamaForCausalLM, ModelConfig, apply_rotary


def load_gate(path):
    """{layer: W (kv_heads, block_size, head_dim)} from plas_attention_mlp_weight.safetensors."""
    with open(path, "rb") as f:
        header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
        data = f.read()
    dtypes = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        start, end = meta["data_offsets"]
        t = torch.frombuffer(bytearray(data[start:end]), dtype=dtypes[meta["dtype"]]).reshape(meta["shape"])
        out[int(name.split(".layers.")[1].split(".")[0])] = t.float()
    return out


class SparseAttention:
    def __init__(self, args, num_layers, gate):
        self.a = args
        self.sparse_layers = set(args.layers) if args.layers else set(range(num_layers - 1))
        self.gate = gate
        self.kv = None
        self.prompt_tokens = 0  # set per probe: rows past it are decode steps
        self.kept = torch.zeros(4, dtype=torch.float64)  # kept, candidates: prefill rows; then decode rows

    def block_scores(self, layer, q, k, probs, nb):  # q (h, T, d), k (kv, T, d), probs (h, T, T) -> (h, T, nb)
        a, (h, T, d), kv = self.a, q.shape, k.shape[0]
        B, pad = a.block, nb * a.block - T
        if a.pooling == "oracle":
            return F.pad(probs, (0, pad)).view(h, T, nb, B).amax(-1)
        blocks = F.pad(k, (0, 0, 0, pad)).view(kv, nb, B, d)
        if a.pooling == "gate" and layer in self.gate:
            kc = (blocks * self.gate[layer][:, None]).sum(2)
        else:  # mean over the tokens present
            present = torch.clamp(T - torch.arange(nb) * B, max=B).float()
            kc = blocks.sum(2) / present[None, :, None]
        return q @ kc.repeat_interleave(h // kv, 0).transpose(-1, -2)

    def select(self, scores, candidate, n, top_k, tile):
        """keep (kv, T, nb): each row's top_k (blocks, or below 1 a share of its candidates) and forced blocks,
        OR-ed over the GQA group and over tiles of `tile` tokens."""
        h, T, nb = scores.shape
        kv = self.kv
        k_row = torch.ceil(top_k * n.float()).long() if top_k < 1 else torch.full((T,), int(top_k))
        k_row = torch.minimum(k_row.clamp(min=1), n)
        threshold = scores.sort(-1, descending=True).values.gather(-1, (k_row - 1)[None, :, None].expand(h, T, 1))
        keep = (scores >= threshold) & candidate[None]  # (h, T, nb)
        pos, own = torch.arange(T), n - 1
        keep[:, :, 0] = True
        keep[:, pos, own] = True
        keep[:, pos, (own - 1).clamp(min=0)] = True
        keep = keep.view(kv, h // kv, T, nb).any(1)  # the GQA group's union
        if tile > 1:  # the token union of each tile
            tiles = (T + tile - 1) // tile
            u = F.pad(keep, (0, 0, 0, tiles * tile - T)).view(kv, tiles, tile, nb).any(2)
            keep = u.repeat_interleave(tile, 1)[:, :T] & candidate[None]
        return keep

    def __call__(self, layer, q, k, v):  # q (h, T, d), k, v (kv, T, d) -> (h, T, d)
        a, (h, T, d), kv = self.a, q.shape, k.shape[0]
        rep, B = h // kv, a.block
        self.kv = kv
        k_rep, v_rep = k.repeat_interleave(rep, 0), v.repeat_interleave(rep, 0)
        pos = torch.arange(T)
        logits = (q @ k_rep.transpose(-1, -2)) / math.sqrt(d)
        logits = logits.masked_fill(pos[None, :] > pos[:, None], float("-inf"))
        dense = logits.softmax(-1) @ v_rep
        if a.pooling == "dense" or layer not in self.sparse_layers:
            return dense
        nb = (T + B - 1) // B
        own = pos // B
        candidate = torch.arange(nb)[None, :] <= own[:, None]  # (T, nb)
        scores = self.block_scores(layer, q, k, logits.softmax(-1), nb)
        tiles = (T + a.tile - 1) // a.tile
        if a.union == "pooled":  # one choice per (kv head, tile) from the summed scores of its rows
            s = scores.masked_fill(~candidate[None], 0.0).view(kv, rep, T, nb).sum(1)
            s = F.pad(s, (0, 0, 0, tiles * a.tile - T)).view(kv, tiles, a.tile, nb).sum(2)
            scores = s.repeat_interleave(a.tile, 1)[:, :T].repeat_interleave(rep, 0)
        scores = scores.masked_fill(~candidate[None], float("-inf"))
        n = own + 1
        keep = self.select(scores, candidate, n, a.top_k, a.tile if a.union == "or" else 1)
        P = self.prompt_tokens  # rows from here on are decode steps: their own top-k, no token union
        if a.decode_top_k is not None and P < T:
            keep[:, P:] = self.select(scores, candidate, n, a.decode_top_k, 1)[:, P:]
        prefill = slice(0, min(P, T))
        self.kept += torch.tensor(
            [keep[:, prefill].sum().item(), candidate[prefill].sum().item() * kv,
             keep[:, P:].sum().item(), candidate[P:].sum().item() * kv],
            dtype=torch.float64,
        )
        tokens = keep.repeat_interleave(B, -1)[..., :T].repeat_interleave(rep, 0)  # (h, T, T)
        out = logits.masked_fill(~tokens, float("-inf")).softmax(-1) @ v_rep
        if a.dense_tail:  # the last rows (question and answer) attend densely
            out[:, T - a.dense_tail :] = dense[:, T - a.dense_tail :]
        return out


def last_logits(model, attention, ids):
    """The model's forward with `attention` in place of its own; logits of the last position."""
    cfg, T = model.cfg, len(ids)
    h, kv, d = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
    cos, sin = model.rope(T)
    x = model.model.embed_tokens(torch.tensor([ids]))
    for i, layer in enumerate(model.model.layers):
        at, y = layer.self_attn, layer.input_layernorm(x)
        q = apply_rotary(at.q_proj(y).view(1, T, h, d).transpose(1, 2), cos, sin)[0]
        k = apply_rotary(at.k_proj(y).view(1, T, kv, d).transpose(1, 2), cos, sin)[0]
        v = at.v_proj(y).view(1, T, kv, d).transpose(1, 2)[0]
        x = x + at.o_proj(attention(i, q, k, v).transpose(0, 1).reshape(1, T, h * d))
        x = x + layer.mlp(layer.post_attention_layernorm(x))
    return (model.model.norm(x) @ model.model.embed_tokens.weight.T)[0, -1]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", required=True, help="WORK with ckpt.pt and probe-passkey.json")
    p.add_argument("--ckpt", help="another checkpoint (default WORK/ckpt.pt)")
    p.add_argument("--gate", default=os.path.join(os.path.dirname(__file__), "..", "..", "resources", "models",
                                                   "plas-mini", "plas_attention_mlp_weight.safetensors"))
    p.add_argument("--pooling", choices=["dense", "mean", "gate", "oracle"], default="mean")
    p.add_argument("--block", type=int, default=64)
    p.add_argument("--top-k", type=float, default=5)
    p.add_argument("--decode-top-k", type=float, help="top-k of decode rows (default: --top-k); 1e9 = dense")
    p.add_argument("--union", choices=["or", "pooled"], default="or")
    p.add_argument("--tile", type=int, default=16, help="tokens of a union tile (the engine's prefill tile: 16)")
    p.add_argument("--layers", type=lambda v: [int(x) for x in v.split(",")], help="sparse layers (all but the last)")
    p.add_argument("--dense-tail", type=int, default=0, help="the last N rows attend densely (a diagnosis)")
    p.add_argument("--length", type=int, default=2048)
    p.add_argument("--samples", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    state = torch.load(a.ckpt or os.path.join(a.work, "ckpt.pt"))
    model = LlamaForCausalLM(ModelConfig(**state["config"]))
    model.load_state_dict(state["model"])
    model.eval()
    gate = load_gate(a.gate) if a.pooling == "gate" else {}
    for layer, w in gate.items():
        if w.shape[1] != a.block:
            sys.exit(f"{a.gate}: layer {layer}'s gate is for blocks of {w.shape[1]} tokens, not --block {a.block}")
    attention = SparseAttention(a, model.cfg.num_hidden_layers, gate)
    with open(os.path.join(a.work, "probe-passkey.json")) as f:
        probes = [x for x in json.load(f) if x["length"] == a.length][: a.samples]
    correct, misses = 0, []
    with torch.no_grad():
        for probe in probes:
            ids, out = list(probe["ids"]), []
            attention.prompt_tokens = len(ids)
            for _ in probe["answerIds"]:  # greedy, one whole forward per token
                ids.append(int(last_logits(model, attention, ids).argmax()))
                out.append(ids[-1])
            correct += out == probe["answerIds"]
            if out != probe["answerIds"]:
                misses.append(round(probe["depth"], 2))
    kept = attention.kept
    print(json.dumps({
        "pooling": a.pooling, "block": a.block, "top_k": a.top_k, "union": a.union, "tile": a.tile,
        "accuracy": f"{correct}/{len(probes)}", "missed_depths": misses,
        "prefill_density": round((kept[0] / kept[1]).item(), 3) if kept[1] else 1.0,
        "decode_density": round((kept[2] / kept[3]).item(), 3) if kept[3] else 1.0,
        "sparse_layer_density": round((kept[0] + kept[2]).item() / (kept[1] + kept[3]).item(), 3) if kept[1] else 1.0,
    }))


if __name__ == "__main__":
    main()
