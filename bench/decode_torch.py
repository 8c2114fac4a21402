"""The PyTorch side of bench/decode: greedy generation of a batch of equal-length
prompts with an ordinary dense KV cache, as a PyTorch user writes it (HF-style
eager attention: the cache is one contiguous [B, Hkv, maxLen, Dh] tensor per
layer for K and one for V, filled in place; GQA through repeat_kv's
expand + reshape; softmax in float32). The batch is prefilled in one forward
(the LM head on the last position only, as HF's generate does with
logits_to_keep=1), then decoded one token per forward, argmax each step.
On CUDA the attention is torch's scaled_dot_product_attention (HF's default
there); on the CPU (Debian's torch 1.13 has no SDPA) the eager matmul-softmax.

Reads JSON on stdin:
  {dir, prompts: [[ids]], max_tokens, threads, device: 'cpu'|'cuda', dtype: 'f32'|'bf16',
   warmup: bool}, or runs: [{prompts, max_tokens}] in place of prompts and max_tokens
   (several batches, one model load)
Prints one JSON line: runs, each with prefill_s, decode_s (the max_tokens - 1 forwards
after the prefill), tokens [B][max_tokens] and dense_kv_bytes; torch, threads, attention,
params."""
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qwen2_torch import load, rmsnorm, rope  # noqa: E402

a = json.load(sys.stdin)
torch.set_num_threads(a["threads"])
dev = torch.device(a["device"])
dtype = torch.bfloat16 if a["dtype"] == "bf16" else torch.float32
model = load(a["dir"]).to(dev, dtype).eval()
c = model.c
hq, hkv, dh = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
rep = hq // hkv
eps = c["rms_norm_eps"]
sdpa = dev.type == "cuda" and hasattr(torch.nn.functional, "scaled_dot_product_attention")


def repeat_kv(x):  # HF's: [B, Hkv, L, Dh] -> [B, Hkv * rep, L, Dh]
    if rep == 1:
        return x
    B, H, L, D = x.shape
    return x[:, :, None].expand(B, H, rep, L, D).reshape(B, H * rep, L, D)


def attention(layer, x, cos, sin, kc, vc, pos):
    """x [B, L, D]; writes K/V of positions [pos, pos + L) into the caches; returns [B, L, D]."""
    at = layer.self_attn
    B, L, _ = x.shape
    q = rope(at.q_proj(x).view(B, L, hq, dh), cos, sin).transpose(1, 2)  # [B, Hq, L, Dh]
    k = rope(at.k_proj(x).view(B, L, hkv, dh), cos, sin).transpose(1, 2)
    v = at.v_proj(x).view(B, L, hkv, dh).transpose(1, 2)
    kc[:, :, pos:pos + L] = k
    vc[:, :, pos:pos + L] = v
    keys, values = repeat_kv(kc[:, :, :pos + L]), repeat_kv(vc[:, :, :pos + L])
    if sdpa:
        o = torch.nn.functional.scaled_dot_product_attention(q, keys, values, is_causal=L > 1 and pos == 0)
    else:
        s = (q @ keys.transpose(2, 3)) / math.sqrt(dh)
        if L > 1:  # the prefill's causal mask (prompt-only: pos == 0 here)
            s = s + torch.full((L, pos + L), float("-inf"), device=x.device, dtype=s.dtype).triu(pos + 1)
        o = s.float().softmax(-1).to(dtype) @ values
    return at.o_proj(o.transpose(1, 2).reshape(B, L, hq * dh))


def forward(tokens, pos, caches, tables):
    """tokens [B, L] at positions [pos, pos + L): next-token ids [B] (greedy)."""
    L = tokens.shape[1]
    cos, sin = tables[0][pos:pos + L], tables[1][pos:pos + L]
    x = model.model.embed_tokens(tokens)
    for layer, (kc, vc) in zip(model.model.layers, caches):
        x = x + attention(layer, rmsnorm(x, layer.input_layernorm.weight, eps), cos, sin, kc, vc, pos)
        y = rmsnorm(x, layer.post_attention_layernorm.weight, eps)
        x = x + layer.mlp.down_proj(torch.nn.functional.silu(layer.mlp.gate_proj(y)) * layer.mlp.up_proj(y))
    h = rmsnorm(x[:, -1], model.model.norm.weight, eps)  # the last position only
    return (h @ model.head_weight().t()).argmax(-1)


def sync():
    if dev.type == "cuda":
        torch.cuda.synchronize()


def generate(prompts, max_tokens):
    B, P = prompts.shape
    max_len = P + max_tokens
    caches = [(torch.zeros(B, hkv, max_len, dh, device=dev, dtype=dtype),
               torch.zeros(B, hkv, max_len, dh, device=dev, dtype=dtype)) for _ in model.model.layers]
    tables = model.rope_tables(torch.arange(max_len), dev)
    sync()
    t0 = time.perf_counter()
    nxt = forward(prompts, 0, caches, tables)
    sync()
    t1 = time.perf_counter()
    out = [nxt]
    for i in range(1, max_tokens):
        nxt = forward(nxt[:, None], P + i - 1, caches, tables)
        out.append(nxt)
    sync()
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, torch.stack(out, 1)


def run(prompts, max_tokens, warmup):
    with torch.inference_mode():
        prompts = torch.tensor(prompts, dtype=torch.long, device=dev)
        if warmup:  # the same shapes, other prompts, two tokens: allocator and kernels warm
            generate(torch.roll(prompts, 1, 1), 2)
        prefill_s, decode_s, tokens = generate(prompts, max_tokens)
    B, P = prompts.shape
    return {
        "prefill_s": prefill_s,
        "decode_s": decode_s,
        "tokens": tokens.cpu().tolist(),
        "dense_kv_bytes": 2 * len(model.model.layers) * B * hkv * (P + max_tokens) * dh * (2 if dtype == torch.bfloat16 else 4),
    }


runs = a["runs"] if "runs" in a else [{"prompts": a["prompts"], "max_tokens": a["max_tokens"]}]
results = [run(r["prompts"], r["max_tokens"], a.get("warmup", True)) for r in runs]
info = {
    "torch": torch.__version__,
    "threads": torch.get_num_threads(),
    "attention": "sdpa" if sdpa else "eager",
    "params": sum(p.numel() for p in model.parameters()),
}
print(json.dumps({**info, "runs": results}))
