# The PyTorch CPU reference for bench/ops/layers.ts (run with Debian's system
# Python and its python3-torch), each op written as a PyTorch user (or HF
# transformers' Qwen2 code) would write it, forward + autograd backward:
#   rmsnorm:   s = x + r; y = s · rsqrt(mean(s²) + eps) · w   (backward: dy into y, dres into s)
#   rope:      HF apply_rotary_pos_emb (q·cos + rotate_half(q)·sin) on q and k
#   swiglu:    F.silu(g) · u
#   attention: softmax(QKᵀ/√d + causal mask)·V per sequence (batched, since the
#              packed sequences have equal lengths), KV heads repeated over
#              their query heads (HF repeat_kv)
# Reads JSON on stdin; prints one JSON line of median seconds per forward+backward.
import json
import math
import statistics
import sys
import timeit

import torch
import torch.nn.functional as F



def median_seconds(fn, reps, warmup):
    for _ in range(warmup):
        fn()
    return statistics.median(timeit.repeat(fn, number=1, repeat=reps))


def leaf(*shape):
    return (torch.rand(*shape) * 2 - 1).requires_grad_()


def rmsnorm(T, D, reps):
    x, r, w = leaf(T, D), leaf(T, D), leaf(D)
    dy, dres = torch.rand(T, D), torch.rand(T, D)

    def step():
        s = x + r
        y = s * torch.rsqrt(s.pow(2).mean(-1, keepdim=True) + 1e-6) * w
        torch.autograd.backward([y, s], [dy, dres])

    return median_seconds(step, reps, 1)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rope(T, Hq, Hkv, Dh, lens, theta, reps):
    q, k = leaf(T, Hq, Dh), leaf(T, Hkv, Dh)
    dq, dk = torch.rand(T, Hq, Dh), torch.rand(T, Hkv, Dh)
    pos = torch.cat([torch.arange(n) for n in lens])

    def step():
        inv_freq = 1.0 / (theta ** (torch.arange(0, Dh, 2).float() / Dh))
        freqs = pos[:, None].float() * inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[:, None, :], emb.sin()[:, None, :]
        qo = q * cos + rotate_half(q) * sin
        ko = k * cos + rotate_half(k) * sin
        torch.autograd.backward([qo, ko], [dq, dk])

    return median_seconds(step, reps, 1)


def swiglu(T, Fw, reps):
    g, u = leaf(T, Fw), leaf(T, Fw)
    dy = torch.rand(T, Fw)

    def step():
        (F.silu(g) * u).backward(dy)

    return median_seconds(step, reps, 1)


def attention(B, L, Hq, Hkv, Dh, reps):
    q, k, v = leaf(B, Hq, L, Dh), leaf(B, Hkv, L, Dh), leaf(B, Hkv, L, Dh)
    dout = torch.rand(B, Hq, L, Dh)
    mask = torch.full((L, L), float("-inf")).triu(1)

    def step():
        kk = k.repeat_interleave(Hq // Hkv, dim=1)
        vv = v.repeat_interleave(Hq // Hkv, dim=1)
        p = torch.softmax(q @ kk.transpose(-1, -2) / math.sqrt(Dh) + mask, dim=-1)
        (p @ vv).backward(dout)

    # one untimed run would double the (slow) reference: time the first
    return median_seconds(step, reps, 0)


cfg = json.load(sys.stdin)
torch.set_num_threads(cfg["threads"])
torch.manual_seed(0)
reps = cfg["reps"]
out = {
    "torch": torch.__version__,
    "blas": next((p.split("=")[1] for p in torch.__config__.show().replace(",", " ").split() if p.startswith("BLAS_INFO=")), "?"),
    "rmsnorm": rmsnorm(cfg["T"], cfg["D"], reps),
    "rope": rope(cfg["T"], cfg["rope"]["Hq"], cfg["rope"]["Hkv"], cfg["rope"]["Dh"], cfg["rope"]["lens"], cfg["rope"]["theta"], reps),
    "swiglu": swiglu(cfg["T"], cfg["F"], reps),
    "attention": [],
}
for a in cfg["attention"]:
    print(f"layers.py: attention {a}", file=sys.stderr, flush=True)
    out["attention"].append(attention(a["B"], a["L"], a["Hq"], a["Hkv"], a["Dh"], cfg["attentionReps"]))
print(json.dumps(out))
