"""A Hugging Face model folder as export.py writes it (config.json, model.safetensors in float16 or float32), read
back into tools/train/model.py: to continue training the shipped model (train.py --init), or to distil its gate."""

import json
import os
import struct

import torch

from model import LlamaForCausalLM, ModelConfig


def _read_header(f):
    return json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))


def read_safetensors_metadata(path):
    """The file's __metadata__ (string -> string), {} when it has none."""
    with open(path, "rb") as f:
        return _read_header(f).get("__metadata__", {})


def read_safetensors(path):
    """name -> tensor, in the file's dtype (F32, F16 or BF16)."""
    with open(path, "rb") as f:
        header = _read_header(f)
        data = f.read()
    dtypes = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        if meta["dtype"] not in dtypes:
            raise SystemExit(f"{path}: tensor {name} has dtype {meta['dtype']}; expected one of {sorted(dtypes)}")
        start, end = meta["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[start:end]), dtype=dtypes[meta["dtype"]]).reshape(meta["shape"])
    return out


def config_of(folder):
    with open(os.path.join(folder, "config.json")) as f:
        c = json.load(f)
    return ModelConfig(vocab_size=c["vocab_size"], hidden_size=c["hidden_size"],
                       intermediate_size=c["intermediate_size"], num_hidden_layers=c["num_hidden_layers"],
                       num_attention_heads=c["num_attention_heads"], num_key_value_heads=c["num_key_value_heads"],
                       head_dim=c.get("head_dim", c["hidden_size"] // c["num_attention_heads"]),
                       rms_norm_eps=c["rms_norm_eps"], rope_theta=c.get("rope_theta", 10000.0),
                       max_position_embeddings=c["max_position_embeddings"])


def weights_of(folder):
    """The folder's weights as float32, named as model.py names them (the tied LM head left out)."""
    tensors = read_safetensors(os.path.join(folder, "model.safetensors"))
    return {n: t.float() for n, t in tensors.items() if n != "lm_head.weight"}


def load_model(folder):
    model = LlamaForCausalLM(config_of(folder))
    model.load_state_dict(weights_of(folder))
    return model
