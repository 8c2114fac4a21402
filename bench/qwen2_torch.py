"""A plain PyTorch Qwen2 (no transformers), parameter names as Hugging Face's
Qwen2ForCausalLM so an HF safetensors checkpoint loads into it. Packed batches:
tokens [T], positions [T], cu_seqlens [B + 1]; attention runs per sequence.
Used by scripts/compare-torch.py (external truth for our log-probs),
bench/train.py (the PyTorch side of bench/train) and bench/decode_torch.py (its
weights and helpers, with a dense KV cache). Works with torch 1.13."""
import json
import math
import struct

import numpy as np
import torch
from torch import nn


def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope(x, cos, sin):  # x [T, H, Dh]; HF rotate_half
    h = x.shape[-1] // 2
    rot = torch.cat([-x[..., h:], x[..., :h]], -1)
    return x * cos[:, None] + rot * sin[:, None]


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, hq, hkv, dh = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
        self.hq, self.hkv, self.dh = hq, hkv, dh
        self.q_proj = nn.Linear(d, hq * dh)
        self.k_proj = nn.Linear(d, hkv * dh)
        self.v_proj = nn.Linear(d, hkv * dh)
        self.o_proj = nn.Linear(hq * dh, d, bias=False)

    def forward(self, x, cos, sin, cu):
        T = x.shape[0]
        q = rope(self.q_proj(x).view(T, self.hq, self.dh), cos, sin)
        k = rope(self.k_proj(x).view(T, self.hkv, self.dh), cos, sin)
        v = self.v_proj(x).view(T, self.hkv, self.dh)
        rep = self.hq // self.hkv
        outs = []
        for b in range(len(cu) - 1):
            s, e = cu[b], cu[b + 1]
            qs = q[s:e].transpose(0, 1)  # [H, L, Dh]
            ks = k[s:e].repeat_interleave(rep, 1).transpose(0, 1)
            vs = v[s:e].repeat_interleave(rep, 1).transpose(0, 1)
            scores = qs @ ks.transpose(1, 2) / math.sqrt(self.dh)
            L = e - s
            causal = torch.ones(L, L, dtype=torch.bool, device=x.device).triu(1)
            p = scores.masked_fill(causal, float("-inf")).softmax(-1)
            outs.append((p @ vs).transpose(0, 1).reshape(L, -1))
        return self.o_proj(torch.cat(outs, 0))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, i = c["hidden_size"], c["intermediate_size"]
        self.eps = c["rms_norm_eps"]
        self.input_layernorm = nn.Module()
        self.input_layernorm.weight = nn.Parameter(torch.ones(d))
        self.post_attention_layernorm = nn.Module()
        self.post_attention_layernorm.weight = nn.Parameter(torch.ones(d))
        self.self_attn = Attention(c)
        self.mlp = nn.Module()
        self.mlp.gate_proj = nn.Linear(d, i, bias=False)
        self.mlp.up_proj = nn.Linear(d, i, bias=False)
        self.mlp.down_proj = nn.Linear(i, d, bias=False)

    def forward(self, x, cos, sin, cu):
        x = x + self.self_attn(rmsnorm(x, self.input_layernorm.weight, self.eps), cos, sin, cu)
        y = rmsnorm(x, self.post_attention_layernorm.weight, self.eps)
        return x + self.mlp.down_proj(nn.functional.silu(self.mlp.gate_proj(y)) * self.mlp.up_proj(y))


class Qwen2(nn.Module):
    def __init__(self, c):
        super().__init__()
        c = dict(c)
        c.setdefault("head_dim", c["hidden_size"] // c["num_attention_heads"])
        self.c = c
        self.model = nn.Module()
        self.model.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.model.layers = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])
        self.model.norm = nn.Module()
        self.model.norm.weight = nn.Parameter(torch.ones(c["hidden_size"]))
        self.tied = c.get("tie_word_embeddings", False)
        if not self.tied:
            self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)

    def head_weight(self):
        return self.model.embed_tokens.weight if self.tied else self.lm_head.weight

    def rope_tables(self, positions, device):
        """cos, sin [len(positions), head_dim] in the weights' dtype (angles in float64)."""
        dh = self.c["head_dim"]
        inv = 1.0 / (self.c.get("rope_theta", 10000.0) ** (torch.arange(0, dh, 2, dtype=torch.float64) / dh))
        ang = positions.double().cpu()[:, None] * inv[None]
        emb = torch.cat([ang, ang], -1)
        dtype = self.model.embed_tokens.weight.dtype
        return emb.cos().to(device, dtype), emb.sin().to(device, dtype)

    def hidden(self, tokens, positions, cu):
        cos, sin = self.rope_tables(positions, tokens.device)
        x = self.model.embed_tokens(tokens)
        for layer in self.model.layers:
            x = layer(x, cos, sin, cu)
        return rmsnorm(x, self.model.norm.weight, self.c["rms_norm_eps"])

    def logprobs(self, tokens, positions, cu, targets, temperature=1.0):
        """log p(target) and entropy per token (full logits: this is the reference, not the fast path)."""
        z = (self.hidden(tokens, positions, cu) @ self.head_weight().t()).float() / temperature
        lp = z.log_softmax(-1)
        return lp.gather(1, targets[:, None])[:, 0], -(lp.exp() * lp).sum(-1)


def read_safetensors(path):
    """{name: float32 tensor} from one safetensors file (f32/bf16/f16), without the safetensors package."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        s, t = e["data_offsets"]
        raw = np.frombuffer(data[s:t], dtype={"F32": np.float32, "BF16": np.uint16, "F16": np.float16}[e["dtype"]])
        if e["dtype"] == "BF16":
            raw = (raw.astype(np.uint32) << 16).view(np.float32)
        out[name] = torch.from_numpy(raw.astype(np.float32).reshape(e["shape"]))
    return out


def load(dir_):
    with open(f"{dir_}/config.json") as f:
        c = json.load(f)
    m = Qwen2(c)
    m.load_state_dict(read_safetensors(f"{dir_}/model.safetensors"))
    return m
