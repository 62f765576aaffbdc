"""Follow retrieval while training runs: greedy pass-key accuracy of the latest checkpoint on the held-out prompts
prepare.ts wrote (WORK/probe-passkey.json), per length.

    python3 tools/train/probe.py --work WORK [--threads 1]"""

import argparse
import json
import os

import torch

from model import LlamaForCausalLM, ModelConfig


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--max-per-length", type=int, default=20)
    p.add_argument("--show", action="store_true", help="print expected and generated ids")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    state = torch.load(os.path.join(args.work, "ckpt.pt"))
    model = LlamaForCausalLM(ModelConfig(**state["config"]))
    model.load_state_dict(state["model"])
    model.eval()
    with open(os.path.join(args.work, "probe-passkey.json")) as f:
        probes = json.load(f)
    by_length = {}
    with torch.no_grad():
        for item in probes:
            n = by_length.setdefault(item["length"], [0, 0])
            if n[1] >= args.max_per_length:
                continue
            ids = list(item["ids"])
            out = []
            # The answer is " " then one token per digit.
            for _ in range(len(item["answerIds"])):
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    logits = model(torch.tensor([ids]))[0, -1]
                ids.append(int(logits.argmax()))
                out.append(ids[-1])
            n[0] += int(item["answerIds"] == out[: len(item["answerIds"])])
            n[1] += 1
            if args.show:
                print(item["length"], round(item["depth"], 2), item["answerIds"], out)
    print(json.dumps({"step": state["step"], "accuracy": {k: f"{v[0]}/{v[1]}" for k, v in by_length.items()}}))


if __name__ == "__main__":
    main()
