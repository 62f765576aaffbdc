"""PLAS gate distillation in PyTorch, at scale: the same objective as the engine's `plas gate train`
(engine/plas/gate-distill.ts), streamed over millions of tokens instead of a few captured windows.

    python3 tools/train/distil_gate.py --model resources/models/plas-mini --work WORK [--tokens 10000000]
        [--block 32] [--length 2048] [--tile 16] [--tiles 8] [--decode-rows 8] [--out FILE]

For every layer, the gate W [kv_heads, block, head_dim] compresses a block's keys into Kc[b] = sum_p W[p] * K[bB+p]
(post-RoPE keys, as the engine's plas_key_sums does); the model's weights never change. Per query row (one position
and one head) over its candidate blocks 1 ..= own - 2 (block 0, the own block and the one before it are always kept,
so the gate only ranks the others, all complete):

    target  t[b] = max over block b's keys of softmax(q K^T / sqrt(D)) (the model's own attention), normalised
    predict p[b] = softmax over the candidates of q . Kc[b] / sqrt(D)
    loss    KL(t || p), a weighted mean over rows

--form bound learns the gate in key-bound form instead (ours): per layer G [kv_heads, 4, head_dim], the weights of a
query's positive and negative parts on the block's per-channel key max M and min m,
    predict p[b] = softmax over the candidates of sum_d (G0 q+ + G1 q-) M[b] + (G2 q+ + G3 q-) m[b], over sqrt(D)
starting from G = (1, 0, 0, 1), Quest's bound max_k q . k <= sum_d max(q_d M_d, q_d m_d) (the engine's "bound" block
score; "bound-gate" scores with G). A pooled key cannot say that ONE key of a block matches, which is what decoding a
fact from far back needs; the bound can, and the gate learns which channels' extremes to trust. Written to the same
file as attn_gate.bound_weight, beside the sum form's attn_gate.weight (each run keeps the other form).

Rows come in units: a prefill tile (--tile consecutive queries, the engine unions their selections; each of its rows
weighs 1 / tile) and a decode row (one query of the window's last --decode-rows positions, where a decode step asks
for what it needs; weighs 1, as much as a whole tile). With --tile 1 --decode-rows 0 every row weighs 1: exactly the
engine's loss, which tools/train/test_distil_gate.py checks on a fixture the engine computes.

Data: --work WORK reads the token rows prepare.ts wrote (WORK/meta.json: the phase of --length, its train file; the
val file is held out for the before/after report), or --windows FILE reads rows of --row-tokens uint16 token ids
(tools/train/gate_windows.ts writes the windows `plas gate train` uses). The model: --model DIR (a Hugging Face
folder as export.py writes it, float16 or float32 safetensors) or --ckpt WORK/ckpt.pt. Adam on all layers at once,
a step per --windows-per-step windows; held-out loss and block recall (top 25%) per layer before and after; the gate
is written as plas_attention_mlp_weight.safetensors (float32, the engine's names) to --out.
"""

import argparse
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from hf_folder import load_model as load_hf_model, read_safetensors, read_safetensors_metadata  # noqa: E402
from model import LlamaForCausalLM, ModelConfig, apply_rotary  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


# --- the objective (shared by training and the fixture check) ---


def first_eligible(block):
    """Positions with at least 2 candidate blocks (own block >= 4), as the engine's firstEligiblePosition."""
    return 4 * block


def block_attention(q, k, positions, block):
    """The model's attention of the rows at `positions` max-pooled per complete block, (h, n, nb), and each row's
    candidate blocks 1 ..= own - 2 (n, nb). q: (h, T, d), k: (kv, T, d) post-RoPE."""
    h, T, d = q.shape
    kv = k.shape[0]
    nb = T // block
    k_rep = k.repeat_interleave(h // kv, 0)
    logits = (q[:, positions] @ k_rep.transpose(-1, -2)) / math.sqrt(d)  # (h, n, T)
    keys = torch.arange(T)
    logits = logits.masked_fill(keys[None, None, :] > positions[None, :, None], float("-inf"))
    probs = logits.softmax(-1)[..., : nb * block].reshape(h, len(positions), nb, block).amax(-1)
    b = torch.arange(nb)
    candidate = (b[None, :] >= 1) & (b[None, :] <= (positions // block - 2)[:, None])  # (n, nb)
    return probs, candidate


def row_targets(q, k, positions, block, power=1.0):
    """Targets of the rows at `positions` (a 1-D LongTensor) for every head.
    q: (h, T, d), k: (kv, T, d) post-RoPE. Returns target (h, n, nb) over blocks 0 ..< nb (nb = complete blocks of
    the window), zero outside each row's candidates 1 ..= own - 2, normalised over them; and the candidate mask (n, nb).
    Rounded to float32 as the engine stores them."""
    probs, candidate = block_attention(q, k, positions, block)
    if math.isinf(power):  # the top block alone: a ranking target (cross-entropy on the block a top-1 would keep)
        top = (probs * candidate[None]).argmax(-1, keepdim=True)
        t = torch.zeros_like(probs).scatter_(-1, top, 1.0) * candidate[None]
    else:
        t = (probs if power == 1 else probs**power) * candidate[None]
    t = t / t.sum(-1, keepdim=True).clamp_min(1e-30)
    return t.float().to(q.dtype), candidate


def gate_scores(q_rows, k, W, block):
    """q_rows: (h, n, d), k: (kv, T, d), W: (kv, block, d) -> s (h, n, nb) = q . Kc / sqrt(D) over complete blocks."""
    h, n, d = q_rows.shape
    kv, T, _ = k.shape
    nb = T // block
    kc = (k[:, : nb * block].reshape(kv, nb, block, d) * W[:, None]).sum(2)  # (kv, nb, d)
    return (q_rows @ kc.repeat_interleave(h // kv, 0).transpose(-1, -2)) / math.sqrt(d)


def block_bounds(k, block):
    """k (kv, T, d) -> the per-channel key max and min of each complete block, (kv, nb, d) each."""
    kv, T, d = k.shape
    nb = T // block
    blocks = k[:, : nb * block].reshape(kv, nb, block, d)
    return blocks.amax(2), blocks.amin(2)


def bound_gate_scores(q_rows, k, G, block):
    """The gate in key-bound form. G (kv, 4, d): per KV head and channel the weights of q's positive and negative
    parts on the block's key max M and min m:
        s[b] = sum_d (G0 q+ + G1 q-) M[b] + (G2 q+ + G3 q-) m[b],  over sqrt(D)
    G = (1, 0, 0, 1) is Quest's bound max_k q . k <= sum_d max(q_d M_d, q_d m_d), the engine's "bound" block score;
    (1/2, 1/2, 1/2, 1/2) is q . (M + m) / 2. Training moves it between them, channel by channel.
    q_rows (h, n, d), k (kv, T, d) -> (h, n, nb)."""
    h, n, d = q_rows.shape
    kv = k.shape[0]
    hi, lo = block_bounds(k, block)
    G = G.repeat_interleave(h // kv, 0)[:, :, None]  # (h, 4, 1, d)
    pos, neg = q_rows.clamp(min=0), q_rows.clamp(max=0)
    q_hi = G[:, 0] * pos + G[:, 1] * neg  # (h, n, d)
    q_lo = G[:, 2] * pos + G[:, 3] * neg
    rep = h // kv
    return (q_hi @ hi.repeat_interleave(rep, 0).transpose(-1, -2)
            + q_lo @ lo.repeat_interleave(rep, 0).transpose(-1, -2)) / math.sqrt(d)


FORMS = {"sum": gate_scores, "bound": bound_gate_scores}


def initial_gate(form, kv, block, d):
    """The untrained gate: mean pooling (sum) or Quest's bound (bound)."""
    if form == "sum":
        return torch.full((kv, block, d), 1.0 / block)
    return torch.tensor([1.0, 0.0, 0.0, 1.0])[None, :, None].repeat(kv, 1, d)


def gate_loss(q, k, W, positions, block, weights=None, targets=None, recall=True, form="sum", power=1.0):
    """The weighted mean KL(t || p) over the rows (every head of each position); weights (n,) per position (default
    1). Returns (loss, recall@25%) where recall is the share of the true top-k blocks the scores rank in their top k
    (None unless `recall`: training skips it)."""
    t, candidate = targets if targets is not None else row_targets(q, k, positions, block, power)
    s = FORMS[form](q[:, positions], k, W, block).masked_fill(~candidate[None], float("-inf"))
    logp = s.log_softmax(-1)
    kl = torch.where(t > 0, t * (torch.log(t.clamp_min(1e-45)) - logp), torch.zeros_like(t)).sum(-1)  # (h, n)
    w = torch.ones(len(positions), dtype=q.dtype) if weights is None else weights.to(q.dtype)
    loss = (kl * w[None]).sum() / (w.sum() * q.shape[0])
    if not recall:
        return loss, None
    with torch.no_grad():
        n_cand = candidate.sum(-1)  # (n,)
        hits = 0.0
        for i in range(len(positions)):
            kk = max(1, math.ceil(0.25 * int(n_cand[i])))
            best_t = t[:, i].topk(kk, -1).indices
            best_s = s[:, i].topk(kk, -1).indices
            hits += sum(len(set(a.tolist()) & set(b.tolist())) / kk for a, b in zip(best_t, best_s))
    return loss, hits / (len(positions) * q.shape[0])


def unit_positions(T, block, tile, tiles, decode_rows, gen):
    """Positions and weights of one window's rows: `tiles` prefill tiles of `tile` queries (each row 1 / tile) at
    random tile-aligned starts, and the last `decode_rows` positions (each 1)."""
    first = first_eligible(block)
    pos, w = [], []
    starts = list(range(-(-first // tile) * tile, T - tile + 1, tile))
    if starts and tiles > 0:
        pick = torch.randperm(len(starts), generator=gen)[:tiles]
        for i in pick.tolist():
            pos += range(starts[i], starts[i] + tile)
            w += [1.0 / tile] * tile
    for p in range(max(first, T - decode_rows), T):
        pos.append(p)
        w.append(1.0)
    return torch.tensor(pos, dtype=torch.long), torch.tensor(w)


def retrieving_positions(q, k, block, keep, pool, gen):
    """The `keep` positions, of `pool` drawn at random from the eligible ones, whose attention reaches furthest for
    one block: the largest max-pooled attention any head gives a candidate block (one that is neither block 0 nor
    the query's own or previous block, which are always kept). Those are the rows that decoding a fact from far back
    depends on (a pass key's answer attends to its needle), and few of a window's last positions are such rows.
    q (h, T, d), k (kv, T, d) -> a 1-D LongTensor of positions."""
    T = q.shape[1]
    first = first_eligible(block)
    drawn = first + torch.randperm(T - first, generator=gen)[:pool]
    with torch.no_grad():
        probs, candidate = block_attention(q, k, drawn, block)
        reach = (probs * candidate[None]).amax(-1).amax(0)  # (n,)
    return drawn[reach.topk(min(keep, len(drawn))).indices].sort().values


# --- the model and the data ---


TENSOR = {"sum": "weight", "bound": "bound_weight"}


def write_gate(path, layers, metadata, form="sum"):
    """plas_attention_mlp_weight.safetensors: model.layers.<i>.self_attn.attn_gate.weight, float32 [kv, block, d]
    (the sum form), or .bound_weight [kv, 4, d] (the bound form). A file that holds the other form keeps it (and its
    metadata): one file serves both. Written to a temporary file first, then renamed."""
    kept, meta = {}, {}
    if os.path.exists(path):
        kept = {name: t for name, t in read_safetensors(path).items() if not name.endswith(f".{TENSOR[form]}")}
        meta = read_safetensors_metadata(path)
    header, blobs, offset = {"__metadata__": {**meta, **metadata}}, [], 0
    tensors = {**kept, **{f"model.layers.{i}.self_attn.attn_gate.{TENSOR[form]}": w for i, w in enumerate(layers)}}
    for name, w in sorted(tensors.items()):
        data = w.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {
            "dtype": "F32", "shape": list(w.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    os.replace(tmp, path)


def load_model(args):
    if args.ckpt:
        state = torch.load(args.ckpt)
        model = LlamaForCausalLM(ModelConfig(**state["config"]))
        model.load_state_dict(state["model"])
    else:
        model = load_hf_model(args.model)
    model.eval()
    return model


def queries_and_keys(model, ids, bf16=False):
    """Post-RoPE q (h, T, d) and k (kv, T, d) of every layer for one window, in float32 (the forward's matrix
    products in bfloat16 autocast with `bf16`, as train.py trains: ~3x faster on CPUs that have it)."""
    cfg, T = model.cfg, len(ids)
    h, kv, d = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
    cos, sin = model.rope(T)
    out = []
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        x = model.model.embed_tokens(torch.tensor([ids]))
        for layer in model.model.layers:
            at, y = layer.self_attn, layer.input_layernorm(x)
            q = apply_rotary(at.q_proj(y).view(1, T, h, d).transpose(1, 2).float(), cos, sin)[0]
            k = apply_rotary(at.k_proj(y).view(1, T, kv, d).transpose(1, 2).float(), cos, sin)[0]
            out.append((q, k))
            x = layer(x, cos, sin, 256)
    return out


def token_rows(args):
    """(train rows, held-out rows) of token ids, each row at least --length long."""
    if args.work:
        with open(os.path.join(args.work, "meta.json")) as f:
            meta = json.load(f)
        phase = next((p for p in meta["phases"] if p["length"] == args.length), None)
        if phase is None:
            sys.exit(f"{args.work}: no phase of length {args.length} (have {[p['length'] for p in meta['phases']]})")
        read = lambda name: np.fromfile(os.path.join(args.work, name), dtype=np.uint16).reshape(-1, args.length + 1)
        return read(phase["train"]), read(phase["val"])[: args.holdout]
    rows = np.fromfile(args.windows, dtype=np.uint16).reshape(-1, args.row_tokens)
    if args.row_tokens < args.length:
        sys.exit(f"--windows rows have {args.row_tokens} tokens, fewer than --length {args.length}")
    held = min(args.holdout, max(1, len(rows) // 4))
    return rows[:-held], rows[-held:]


def evaluate(model, rows, W, args, gen_seed=7):
    """Held-out loss and recall per layer (the same rows for every W)."""
    gen = torch.Generator().manual_seed(gen_seed)
    sums = [[0.0, 0.0, 0] for _ in W]
    with torch.no_grad():
        for ids in rows:
            ids = ids[: args.length].astype(np.int64).tolist()
            pos, w = unit_positions(len(ids), args.block, args.tile, args.tiles, args.decode_rows, gen)
            for layer, (q, k) in enumerate(queries_and_keys(model, ids, args.bf16)):
                loss, recall = gate_loss(q, k, W[layer], pos, args.block, w, form=args.form, power=args.target_power)
                sums[layer][0] += loss.item()
                sums[layer][1] += recall
                sums[layer][2] += 1
    return [(s[0] / s[2], s[1] / s[2]) for s in sums]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="Hugging Face model folder (config.json, model.safetensors)")
    src.add_argument("--ckpt", help="a tools/train checkpoint (ckpt.pt)")
    data = p.add_mutually_exclusive_group(required=True)
    data.add_argument("--work", help="prepare.ts's WORK (meta.json and its token files)")
    data.add_argument("--windows", help="uint16 token rows of --row-tokens ids (tools/train/gate_windows.ts)")
    p.add_argument("--row-tokens", type=int, default=2048)
    p.add_argument("--length", type=int, default=2048, help="tokens per window")
    p.add_argument("--block", type=int, default=32)
    p.add_argument("--form", choices=sorted(FORMS), default="sum",
                   help="sum: the original gate, a learned weighted sum of a block's keys (W [kv, block, d]); bound: "
                   "learned weights on the block's key max and min (W [kv, 4, d]), starting from Quest's bound")
    p.add_argument("--tokens", type=float, default=10e6, help="training tokens (windows x length)")
    p.add_argument("--bound-weights", choices=["all", "diagonal"], default="all",
                   help="the bound form's weights: all four, or diagonal (G1 = G2 = 0: per channel a weight on q+ . M "
                   "and one on q- . m, so every term stays a bound over the block's keys)")
    p.add_argument("--prefixes", type=lambda v: [int(x) for x in v.split(",")],
                   help="train on prefixes of the windows of these lengths, one drawn per window (default: --length "
                   "only): the decode rows then sit at every length the gate will meet")
    p.add_argument("--target-power", type=float, default=1.0,
                   help="raise the max-pooled attention to this power before normalising it (1: the engine's target; "
                   "above 1 the loss weighs the blocks a top-k keeps over the long tail it drops; inf: the top "
                   "block alone, a ranking target)")
    p.add_argument("--tile", type=int, default=16, help="queries of a prefill tile (the engine's union tile)")
    p.add_argument("--tiles", type=int, default=8, help="prefill tiles sampled per window")
    p.add_argument("--decode-rows", type=int, default=8, help="decode rows per window (its last positions)")
    p.add_argument("--retrieval-rows", type=int, default=0,
                   help="per window and layer, also train on this many rows that reach furthest back (of "
                   "--retrieval-pool drawn at random: those whose attention on one candidate block is largest), "
                   "each weighing as a decode row")
    p.add_argument("--retrieval-pool", type=int, default=512)
    p.add_argument("--windows-per-step", type=int, default=4)
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate (default: the sum form 2e-3 / block, as the engine; the bound form 1e-2)")
    p.add_argument("--holdout", type=int, default=8, help="held-out windows for the report")
    p.add_argument("--bf16", action="store_true", help="the model's forward in bfloat16 autocast (the gate stays float32)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", default=None, help="gate file (default: MODEL/plas_attention_mlp_weight.safetensors)")
    p.add_argument("--checkpoint", default=None,
                   help="resumable state (default: OUT.ckpt.pt); run the same command again to resume from it")
    p.add_argument("--checkpoint-minutes", type=float, default=5)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = load_model(args)
    cfg = model.cfg
    train, held = token_rows(args)
    W = [initial_gate(args.form, cfg.num_key_value_heads, args.block, cfg.head_dim).requires_grad_()
         for _ in range(cfg.num_hidden_layers)]
    lr = args.lr or (2e-3 / args.block if args.form == "sum" else 1e-2)
    opt = torch.optim.Adam(W, lr=lr, betas=(0.9, 0.999), eps=1e-12)
    prefixes = args.prefixes or [args.length]
    if any(n > args.length or n < 4 * args.block for n in prefixes):
        sys.exit(f"--prefixes must lie in [{4 * args.block}, --length {args.length}], got {prefixes}")
    steps = max(1, int(args.tokens // (sum(prefixes) / len(prefixes) * args.windows_per_step)))
    gen = torch.Generator().manual_seed(args.seed)
    out = args.out or os.path.join(args.model or os.path.dirname(args.ckpt), "plas_attention_mlp_weight.safetensors")
    ckpt_path = args.checkpoint or f"{out}.ckpt.pt"
    # What a checkpoint must agree on to be resumed: the run's own settings, not where it writes.
    run = {k: getattr(args, k) for k in ("model", "ckpt", "work", "windows", "length", "block", "tokens", "tile",
                                         "tiles", "decode_rows", "windows_per_step", "lr", "seed", "form",
                                         "target_power", "bound_weights", "prefixes", "retrieval_rows", "retrieval_pool")}
    step, before = 0, None
    if os.path.exists(ckpt_path):
        state = torch.load(ckpt_path)
        # Checkpoints from before --form and --target-power trained the sum form on the plain target.
        old = {"form": "sum", "target_power": 1.0, "bound_weights": "all", "prefixes": None, "retrieval_rows": 0,
               "retrieval_pool": 512}
        if {**old, **state["run"]} != run:
            sys.exit(f"{ckpt_path} belongs to another run ({state['run']}); remove it or pass --checkpoint")
        with torch.no_grad():
            for w, saved in zip(W, state["W"]):
                w.copy_(saved)
        opt.load_state_dict(state["optimizer"])
        gen.set_state(state["generator"])
        step, before = state["step"], state["before"]
        print(f"resumed from {ckpt_path} at step {step}/{steps}", flush=True)
    if before is None:
        before = evaluate(model, held, W, args)
    started, first_step, last_save = time.time(), step, time.time()
    while step < steps:
        step += 1
        opt.zero_grad()
        total = 0.0
        for _ in range(args.windows_per_step):
            length = prefixes[int(torch.randint(len(prefixes), (1,), generator=gen))] if len(prefixes) > 1 else args.length
            ids = train[int(torch.randint(len(train), (1,), generator=gen))][:length].astype(np.int64).tolist()
            pos, w = unit_positions(len(ids), args.block, args.tile, args.tiles, args.decode_rows, gen)
            with torch.no_grad():
                qk = queries_and_keys(model, ids, args.bf16)
            for layer, (q, k) in enumerate(qk):
                lpos, lw = pos, w
                if args.retrieval_rows:  # besides the window's last rows, the rows that reach furthest back
                    mined = retrieving_positions(q, k, args.block, args.retrieval_rows, args.retrieval_pool, gen)
                    lpos, lw = torch.cat([pos, mined]), torch.cat([w, torch.ones(len(mined))])
                loss, _ = gate_loss(q, k, W[layer], lpos, args.block, lw, recall=False, form=args.form,
                                    power=args.target_power)
                (loss / args.windows_per_step).backward()
                total += loss.item() / (args.windows_per_step * len(qk))
        opt.step()
        if args.bound_weights == "diagonal":  # no cross terms: q+ only on the max, q- only on the min
            with torch.no_grad():
                for w in W:
                    w[:, 1:3] = 0
        elapsed = time.time() - started
        if step % 10 == 0 or step == steps:
            rate = (step - first_step) * args.windows_per_step * args.length / elapsed
            eta = (steps - step) * args.windows_per_step * args.length / rate
            print(json.dumps({"step": step, "steps": steps, "loss": round(total, 5), "tokens_per_s": round(rate),
                              "eta_min": round(eta / 60, 1)}), flush=True)
        if time.time() - last_save > args.checkpoint_minutes * 60 or step == steps:
            tmp = f"{ckpt_path}.tmp"
            torch.save({"run": run, "W": [w.detach().clone() for w in W], "optimizer": opt.state_dict(),
                        "generator": gen.get_state(), "step": step, "before": before}, tmp)
            os.replace(tmp, ckpt_path)  # never a half-written checkpoint
            last_save = time.time()
    after = evaluate(model, held, W, args)
    for layer, (b, a) in enumerate(zip(before, after)):
        print(json.dumps({"layer": layer, "holdout_loss": [round(b[0], 4), round(a[0], 4)],
                          "holdout_recall": [round(b[1], 4), round(a[1], 4)]}))
    tokens_key = "trained_tokens" if args.form == "sum" else "bound_trained_tokens"
    write_gate(out, W, {"format": "pt", "block_size": str(args.block), tokens_key: str(int(args.tokens)),
                        "tool": "tools/train/distil_gate.py"}, args.form)
    print(f"gate written to {out}")


if __name__ == "__main__":
    main()
