"""Step 3 of training the default model: write the trained checkpoint as a Hugging Face model folder that the
engine (and transformers) loads: config.json (LlamaForCausalLM), model.safetensors (float16), generation_config.json,
the tokenizer files prepare.ts wrote, and reference.json: greedy tokens and logits computed here, in PyTorch, from
the float16 weights, which the engine's tests compare its own output against.

    python3 tools/train/export.py --work WORK --out resources/models/plas-mini

The model card (README.md) and the PLAS gate come after: `plas gate train`, `plas eval retrieval`."""

import argparse
import json
import os
import shutil
import struct

import torch

from model import LlamaForCausalLM, ModelConfig


def write_safetensors(path, tensors, metadata):
    """The safetensors format: an 8-byte little-endian header length, a JSON header, then the raw tensors."""
    header, offset, blobs = {"__metadata__": metadata}, 0, []
    for name, t in tensors.items():
        data = t.contiguous().view(torch.int16).numpy().tobytes() if t.dtype == torch.float16 else None
        if data is None:
            raise ValueError(f"{name}: only float16 is exported, got {t.dtype}")
        header[name] = {"dtype": "F16", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # tensor data 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--name", default="PLAS Mini")
    p.add_argument("--reference-tokens", type=int, default=24)
    args = p.parse_args()

    state = torch.load(os.path.join(args.work, "ckpt.pt"))
    cfg = ModelConfig(**state["config"])
    model = LlamaForCausalLM(cfg)
    model.load_state_dict(state["model"])
    # What ships is float16; the reference is computed from exactly those weights (in float32 arithmetic).
    half = {n: t.detach().to(torch.float16) for n, t in model.state_dict().items()}
    model.load_state_dict({n: t.float() for n, t in half.items()})
    model.eval()

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.work, "meta.json")) as f:
        meta = json.load(f)
    write_safetensors(os.path.join(args.out, "model.safetensors"), half, {"format": "pt"})
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": cfg.vocab_size,
        "hidden_size": cfg.hidden_size,
        "intermediate_size": cfg.intermediate_size,
        "num_hidden_layers": cfg.num_hidden_layers,
        "num_attention_heads": cfg.num_attention_heads,
        "num_key_value_heads": cfg.num_key_value_heads,
        "head_dim": cfg.head_dim,
        "hidden_act": "silu",
        "max_position_embeddings": cfg.max_position_embeddings,
        "rms_norm_eps": cfg.rms_norm_eps,
        "rope_theta": cfg.rope_theta,
        "rope_scaling": None,
        "attention_bias": False,
        "mlp_bias": False,
        "tie_word_embeddings": True,
        "bos_token_id": meta["endOfText"],
        "eos_token_id": [meta["imEnd"], meta["endOfText"]],
        "pad_token_id": meta["endOfText"],
        "torch_dtype": "float16",
        "transformers_version": "4.46.0",
    }
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(args.out, "generation_config.json"), "w") as f:
        json.dump({"eos_token_id": [meta["imEnd"], meta["endOfText"]], "pad_token_id": meta["endOfText"],
                   "do_sample": True, "temperature": 0.7, "top_p": 0.9, "repetition_penalty": 1.1}, f, indent=2)
    for name in ["tokenizer.json", "tokenizer_config.json"]:
        shutil.copyfile(os.path.join(args.work, name), os.path.join(args.out, name))

    # Reference: greedy continuations and the last-position logits, for the engine's tests. The prompts' ids come
    # from the engine's own tokenizer (prepare.ts wrote them to reference-ids.json).
    ids_path = os.path.join(args.work, "reference-ids.json")
    refs = []
    if os.path.exists(ids_path):
        with open(ids_path) as f:
            prompts = json.load(f)
        with torch.no_grad():
            for item in prompts:
                ids = list(item["ids"])
                logits0 = None
                for _ in range(args.reference_tokens):
                    logits = model(torch.tensor([ids]))[0, -1]
                    if logits0 is None:
                        logits0 = logits
                    ids.append(int(logits.argmax()))
                refs.append({"text": item["text"], "promptIds": item["ids"], "greedy": ids[len(item["ids"]):],
                             "firstLogitsTop": torch.topk(logits0, 8).indices.tolist(),
                             "firstLogits": [round(float(x), 4) for x in logits0[:64]]})
        with open(os.path.join(args.out, "reference.json"), "w") as f:
            json.dump({"note": "PyTorch (tools/train/model.py) on the float16 weights, float32 arithmetic",
                       "references": refs}, f, indent=1)
    print(f"exported {sum(t.numel() for t in half.values()) / 1e6:.2f}M parameters to {args.out}")


if __name__ == "__main__":
    main()
