"""The default model in PyTorch: Llama architecture (RMSNorm, rotary embeddings with the half-split "rotate_half"
layout of Hugging Face's LlamaForCausalLM, grouped-query attention, SwiGLU MLP, tied embeddings), with the same
parameter names as Hugging Face so export is a rename-free copy. Training-only code: the engine runs the exported
weights through its own WGSL kernels."""

import math
from dataclasses import dataclass, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class ModelConfig:
    vocab_size: int = 4096
    hidden_size: int = 256
    intermediate_size: int = 768
    num_hidden_layers: int = 6
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    head_dim: int = 64
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    max_position_embeddings: int = 2048

    def to_dict(self):
        return asdict(self)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):  # (..., dim)
        x32 = x.float()
        return (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)).type_as(x) * self.weight


def rotary_tables(cfg: ModelConfig, length: int):
    """cos, sin: (T, head_dim), the half-split layout: frequency i applies to dims i and i + head_dim/2."""
    d = cfg.head_dim
    inv = 1.0 / (cfg.rope_theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    freqs = torch.outer(torch.arange(length, dtype=torch.float64), inv)  # (T, d/2)
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos().float(), emb.sin().float()


def apply_rotary(x, cos, sin):  # x: (B, h, T, d)
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rotated * sin


def causal_attention(q, k, v, chunk):
    """Exact causal softmax attention, computed in query chunks so the masked upper triangle is mostly skipped.
    q: (B, kv, rep, T, d), k, v: (B, kv, 1, T, d) -> (B, kv, rep, T, d)."""
    T = q.shape[-2]
    scale = 1.0 / math.sqrt(q.shape[-1])
    outs = []
    for start in range(0, T, chunk):
        end = min(T, start + chunk)
        qc = q[..., start:end, :]  # (B, kv, rep, c, d)
        kc, vc = k[..., :end, :], v[..., :end, :]  # (B, kv, 1, end, d)
        s = (qc @ kc.transpose(-1, -2)) * scale  # (B, kv, rep, c, end)
        rows = torch.arange(start, end).unsqueeze(1)
        cols = torch.arange(end).unsqueeze(0)
        s = s.masked_fill(cols > rows, float("-inf"))
        outs.append(s.softmax(-1) @ vc)
    return torch.cat(outs, dim=-2)


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        h, kv, d = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
        self.q_proj = nn.Linear(cfg.hidden_size, h * d, bias=False)
        self.k_proj = nn.Linear(cfg.hidden_size, kv * d, bias=False)
        self.v_proj = nn.Linear(cfg.hidden_size, kv * d, bias=False)
        self.o_proj = nn.Linear(h * d, cfg.hidden_size, bias=False)

    def forward(self, x, cos, sin, chunk):  # x: (B, T, hidden)
        B, T, _ = x.shape
        h, kv, d = self.cfg.num_attention_heads, self.cfg.num_key_value_heads, self.cfg.head_dim
        q = self.q_proj(x).view(B, T, h, d).transpose(1, 2)  # (B, h, T, d)
        k = self.k_proj(x).view(B, T, kv, d).transpose(1, 2)  # (B, kv, T, d)
        v = self.v_proj(x).view(B, T, kv, d).transpose(1, 2)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        # Heads h = g * rep + r share KV head g (Hugging Face's repeat_kv order).
        q = q.view(B, kv, h // kv, T, d)
        out = causal_attention(q, k.unsqueeze(2), v.unsqueeze(2), chunk)  # (B, kv, rep, T, d)
        return self.o_proj(out.reshape(B, h, T, d).transpose(1, 2).reshape(B, T, h * d))


class MLP(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.gate_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.up_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.down_proj = nn.Linear(cfg.intermediate_size, cfg.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin, chunk):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, chunk)
        return x + self.mlp(self.post_attention_layernorm(x))


class Inner(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList([DecoderLayer(cfg) for _ in range(cfg.num_hidden_layers)])
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


class LlamaForCausalLM(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.model = Inner(cfg)
        self._rope = {}
        self.reset_parameters()

    def reset_parameters(self):
        std = 0.02
        for name, p in self.named_parameters():
            if p.dim() == 1:
                nn.init.ones_(p)
            elif name.endswith(("o_proj.weight", "down_proj.weight")):
                # Residual branches scaled down with depth (GPT-2), so the residual stream stays O(1).
                nn.init.normal_(p, 0.0, std / math.sqrt(2 * self.cfg.num_hidden_layers))
            else:
                nn.init.normal_(p, 0.0, std)

    def rope(self, T):
        if T not in self._rope:
            self._rope[T] = rotary_tables(self.cfg, T)
        return self._rope[T]

    def forward(self, ids, chunk=256):  # ids: (B, T) -> logits (B, T, vocab)
        cos, sin = self.rope(ids.shape[1])
        x = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            x = layer(x, cos, sin, chunk)
        return self.model.norm(x) @ self.model.embed_tokens.weight.T  # tied LM head
