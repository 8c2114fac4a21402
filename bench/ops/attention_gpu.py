# The PyTorch GPU reference for bench/ops/attention_gpu.ts: causal
# F.scaled_dot_product_attention with the flash backend only
# (sdpa_kernel(SDPBackend.FLASH_ATTENTION)), bf16, [B, L, H, Dh] tensors viewed
# as [B, H, L, Dh] (a model's layout), B = T / L sequences of length L.
# GQA through enable_gqa=True when this torch's flash backend takes it, else K/V
# expanded to Hq heads outside the timed region (reported as "gqa").
# Reads {"T", "Hq", "Hkv", "Dh", "lens": [...], "min_seconds"} on stdin; prints
# one JSON line: seconds (median, CUDA events) per forward and per forward+backward.
import json
import sys
import time

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

cfg = json.load(sys.stdin)
dev = torch.device("cuda")
T, Hq, Hkv, Dh = cfg["T"], cfg["Hq"], cfg["Hkv"], cfg["Dh"]


def median_seconds(fn):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times, start = [], time.perf_counter()
    while len(times) < 5 or (time.perf_counter() - start < cfg["min_seconds"] and len(times) < 200):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b) / 1000)
    times.sort()
    return times[len(times) // 2]


def tensors(B, L, H):
    return torch.randn(B, L, H, Dh, device=dev, dtype=torch.bfloat16).transpose(1, 2).requires_grad_()


gqa = "enable_gqa"
rows = []
for L in cfg["lens"]:
    B = T // L
    q = tensors(B, L, Hq)
    k, v = tensors(B, L, Hkv), tensors(B, L, Hkv)
    dout = torch.randn(B, Hq, L, Dh, device=dev, dtype=torch.bfloat16)

    def attn(k=k, v=v):
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
            if gqa == "enable_gqa":
                return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
            return F.scaled_dot_product_attention(q, k, v, is_causal=True)

    try:
        attn()
    except RuntimeError:
        gqa = "expanded"
    if gqa == "expanded":
        k = k.detach().repeat_interleave(Hq // Hkv, dim=1).requires_grad_()
        v = v.detach().repeat_interleave(Hq // Hkv, dim=1).requires_grad_()

    def fwd():
        with torch.no_grad():
            attn(k, v)

    def fwd_bwd():
        q.grad = k.grad = v.grad = None
        attn(k, v).backward(dout)

    rows.append({"L": L, "fwd": median_seconds(fwd), "fwdBwd": median_seconds(fwd_bwd)})
    del q, k, v, dout
    torch.cuda.empty_cache()

print(json.dumps({"torch": torch.__version__, "device": torch.cuda.get_device_name(), "gqa": gqa, "rows": rows}))
