"""Step 2 of training the default model: train it on the sequences prepare.ts wrote, phase after phase (short
sequences first, then longer ones up to the training length), with checkpoints and resume.

    python3 tools/train/train.py --work WORK [--threads 2] [--batch-tokens 2048,2048,2048,4096] [--lr 2e-3]

Needs Debian's python3-torch (and libopenblas0-pthread: PyTorch's generic BLAS is ~25x slower). Matrix products run
in bfloat16 autocast where the CPU has it (3.5x faster here), accumulations and the loss in float32. A checkpoint is
written to WORK/ckpt.pt every --checkpoint-minutes and at the end of each phase; running the same command again
resumes from it, bit for bit where the data order is concerned. Progress goes to stdout and WORK/train-log.jsonl.
Then run tools/train/export.py."""

import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from hf_folder import config_of, weights_of
from model import LlamaForCausalLM, ModelConfig


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-tokens", default=None,
                   help="tokens per step, one number or one per phase (default: max(2048, 2 x length)); small batches "
                        "on purpose: induction heads form after about 5e5 x sqrt(sequences x length) tokens "
                        "(Aoyama et al., 2025), so fewer sequences a step reach them sooner")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--min-lr-ratio", type=float, default=0.1)
    p.add_argument("--warmup-steps", type=int, default=150)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--checkpoint-minutes", type=float, default=10)
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--phase-fractions", default=None,
                   help="comma-separated share of each phase's sequences to train on, e.g. 1,0.5,0.6 (default: all); "
                        "the learning-rate schedule spans the shortened run")
    p.add_argument("--init", default=None,
                   help="start from the weights of this checkpoint (another run's ckpt.pt) or model folder (export.py's, "
                        "e.g. resources/models/plas-mini), with a fresh optimizer and schedule: continued training on "
                        "new phases, such as longer sequences")
    p.add_argument("--rope-theta", type=float, default=None,
                   help="RoPE base (default: 10000, or the --init model's); raise it to train past the init's length")
    p.add_argument("--no-bf16", action="store_true", help="train in float32 throughout")
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--intermediate", type=int, default=768)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--kv-heads", type=int, default=2)
    p.add_argument("--head-dim", type=int, default=64)
    return p.parse_args()


def load_phases(work, meta):
    phases = []
    for ph in meta["phases"]:
        rows = ph["length"] + 1
        train = np.fromfile(os.path.join(work, ph["train"]), dtype=np.uint16).reshape(-1, rows)
        val = np.fromfile(os.path.join(work, ph["val"]), dtype=np.uint16).reshape(-1, rows)
        phases.append({"length": ph["length"], "train": train, "val": val})
    return phases


def lr_at(step, total, args):
    if step < args.warmup_steps:
        return args.lr * (step + 1) / args.warmup_steps
    t = min(1.0, (step - args.warmup_steps) / max(1, total - args.warmup_steps))
    floor = args.lr * args.min_lr_ratio
    return floor + (args.lr - floor) * 0.5 * (1 + math.cos(math.pi * t))


def loss_of(model, batch, bf16):
    x = torch.from_numpy(batch.astype(np.int64))
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        logits = model(x[:, :-1])  # (B, T, V)
    return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1))


@torch.no_grad()
def evaluate(model, phase, bf16):
    model.eval()
    losses = [loss_of(model, phase["val"][i : i + 4], bf16).item() for i in range(0, len(phase["val"]), 4)]
    model.train()
    return sum(losses) / len(losses)


@torch.no_grad()
def repeat_loss(model, vocab_size, bf16):
    """Induction probe (Olsson et al., 2022): loss on the second copy of 8 repeated strings of 48 random tokens. About
    ln(vocab) until induction heads form, then it falls towards 0."""
    rng = np.random.default_rng(12345)
    half = rng.integers(0, vocab_size - 8, (8, 48))  # the last ids are special tokens
    x = torch.from_numpy(np.concatenate([half, half], axis=1))
    model.eval()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        logits = model(x[:, :-1])
    model.train()
    second = logits[:, 48:].float()  # predicts tokens 49 ..< 96, all known from the first copy
    return F.cross_entropy(second.reshape(-1, second.shape[-1]), x[:, 49:].reshape(-1)).item()


# What --init may change: the length trained to and the RoPE base (the shapes must match).
CONTINUABLE = ("max_position_embeddings", "rope_theta")


def load_checkpoint(path, cfg, model, continuing=False):
    """A checkpoint's state, its weights loaded into `model`; it must have been trained with the same config (the same
    shapes only, when `continuing` another run's weights on longer sequences)."""
    state = torch.load(path)
    mine, theirs = cfg.to_dict(), dict(state["config"])
    if continuing:
        theirs.update({k: mine[k] for k in CONTINUABLE})
    if theirs != mine:
        raise SystemExit(f"{path} was trained with {state['config']}, not {cfg.to_dict()}")
    model.load_state_dict(state["model"])
    return state


def init_config(path):
    """The config of --init (a checkpoint or a model folder), or None."""
    if path is None:
        return None
    return config_of(path) if os.path.isdir(path) else ModelConfig(**torch.load(path)["config"])


def load_init(path, cfg, model):
    if os.path.isdir(path):
        init = config_of(path).to_dict()
        mine = cfg.to_dict()
        if {k: v for k, v in init.items() if k not in CONTINUABLE} != {k: v for k, v in mine.items() if k not in CONTINUABLE}:
            raise SystemExit(f"{path} has config {init}, which does not match {mine}")
        model.load_state_dict(weights_of(path))
        return "a model folder"
    return f"its step {load_checkpoint(path, cfg, model, continuing=True)['step']}"


def save(path, state):
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)  # never a half-written checkpoint


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    work = args.work
    with open(os.path.join(work, "meta.json")) as f:
        meta = json.load(f)
    phases = load_phases(work, meta)
    init = init_config(args.init)
    rope_theta = args.rope_theta or (init.rope_theta if init else 10000.0)
    cfg = ModelConfig(
        rope_theta=rope_theta,
        vocab_size=meta["vocabSize"],
        hidden_size=args.hidden,
        intermediate_size=args.intermediate,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        num_key_value_heads=args.kv_heads,
        head_dim=args.head_dim,
        max_position_embeddings=max(p["length"] for p in phases),
    )
    bf16 = not args.no_bf16
    fractions = [float(x) for x in args.phase_fractions.split(",")] if args.phase_fractions else [1.0] * len(phases)
    if len(fractions) != len(phases) or not all(0 < f <= 1 for f in fractions):
        raise SystemExit(f"--phase-fractions needs {len(phases)} numbers in (0, 1], got {args.phase_fractions}")
    if args.batch_tokens is None:
        batch_tokens = [max(2048, 2 * p["length"]) for p in phases]
    else:
        batch_tokens = [int(x) for x in args.batch_tokens.split(",")]
        batch_tokens = batch_tokens * len(phases) if len(batch_tokens) == 1 else batch_tokens
    if len(batch_tokens) != len(phases) or any(b < p["length"] for b, p in zip(batch_tokens, phases)):
        raise SystemExit(f"--batch-tokens needs 1 or {len(phases)} numbers, each at least its phase's length")
    steps_per_phase = [int(f * len(p["train"])) * p["length"] // b for f, p, b in zip(fractions, phases, batch_tokens)]
    total = sum(steps_per_phase)

    torch.manual_seed(args.seed)
    model = LlamaForCausalLM(cfg)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr,
        betas=(0.9, 0.95),
        eps=1e-8,
    )
    ckpt_path = os.path.join(work, "ckpt.pt")
    step = 0
    if os.path.exists(ckpt_path):
        state = load_checkpoint(ckpt_path, cfg, model)
        opt.load_state_dict(state["optimizer"])
        step = state["step"]
        print(f"resumed from {ckpt_path} at step {step}/{total}", flush=True)
    elif args.init:
        print(f"initialised from {args.init} ({load_init(args.init, cfg, model)})", flush=True)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params / 1e6:.2f}M parameters, {cfg.to_dict()}", flush=True)
    print(f"{total} steps: {steps_per_phase} per phase, of {batch_tokens} tokens", flush=True)

    log = open(os.path.join(work, "train-log.jsonl"), "a")
    last_save = time.time()
    started, tokens_done = time.time(), 0
    first = 0
    for index, phase in enumerate(phases):
        n_steps, T = steps_per_phase[index], phase["length"]
        if step >= first + n_steps:
            first += n_steps
            continue
        B = batch_tokens[index] // T
        # The data order is a function of the seed and the phase alone, so a resumed run sees what it would have.
        order = np.random.default_rng(args.seed * 100 + index).permutation(len(phase["train"]))
        while step < first + n_steps:
            k = step - first
            batch = phase["train"][np.sort(order[k * B : (k + 1) * B])]
            lr = lr_at(step, total, args)
            for g in opt.param_groups:
                g["lr"] = lr
            t0 = time.time()
            loss = loss_of(model, batch, bf16)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0).item()
            opt.step()
            step += 1
            tokens_done += B * T
            rate = tokens_done / (time.time() - started)
            entry = {"step": step, "phase": T, "loss": round(loss.item(), 4), "lr": lr, "grad_norm": round(grad_norm, 3),
                     "step_s": round(time.time() - t0, 2), "tok_s": round(rate)}
            if step % args.eval_every == 0 or step == first + n_steps:
                entry["val_loss"] = round(evaluate(model, phase, bf16), 4)
                entry["repeat_loss"] = round(repeat_loss(model, cfg.vocab_size, bf16), 3)
            log.write(json.dumps(entry) + "\n")
            log.flush()
            if step % 50 == 0 or "val_loss" in entry:
                print(json.dumps(entry), flush=True)
            if time.time() - last_save > args.checkpoint_minutes * 60 or step == first + n_steps:
                save(ckpt_path, {"config": cfg.to_dict(), "model": model.state_dict(),
                                 "optimizer": opt.state_dict(), "step": step})
                last_save = time.time()
        first += n_steps
    print(f"done: {step} steps; checkpoint {ckpt_path}", flush=True)


if __name__ == "__main__":
    main()
