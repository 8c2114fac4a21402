# The PyTorch GPU reference for bench/ops/train_gpu.ts (the GPU machine's
# python3, torch 2.11), bf16 on the same shapes. Reads JSON on stdin, prints
# one JSON line of seconds (median, CUDA events):
#   copy:    x.clone() of a `copy_bytes` buffer (the device's copy bandwidth)
#   layers:  torch eager rmsnorm (+residual) fwd/bwd, rotate_half RoPE on q and k,
#            silu(g)·u fwd/bwd
#   lmhead:  the naive loss: full logits → float → log_softmax → gather, entropy
#            (no grad, as a metric), GRPO clipped loss, autograd backward; seconds
#            and peak memory growth (torch.cuda.max_memory_allocated over the inputs)
#   adamw:   torch.optim.AdamW(fused=True).step() over the same f32 tensor list
import json
import sys

import torch
import torch.nn.functional as F

cfg = json.load(sys.stdin)
dev = torch.device("cuda")
bf16 = torch.bfloat16


def seconds(fn, reps=20, warmup=3):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        ts.append(a.elapsed_time(b) / 1000)
    ts.sort()
    return ts[len(ts) // 2]


out = {"torch": torch.__version__, "device": torch.cuda.get_device_name()}

buf = torch.empty(cfg["copy_bytes"] // 2, dtype=bf16, device=dev)
out["copy"] = seconds(lambda: buf.clone())
del buf

L = cfg["layers"]
T, D, I, Hq, Hkv, Dh, eps = L["T"], L["D"], L["I"], L["Hq"], L["Hkv"], L["Dh"], L["eps"]
x = torch.randn(T, D, device=dev, dtype=bf16)
r = torch.randn(T, D, device=dev, dtype=bf16)
w = torch.randn(D, device=dev, dtype=bf16)
dy = torch.randn(T, D, device=dev, dtype=bf16)


def rms_fwd():
    s = x + r
    return F.rms_norm(s, (D,), w, eps), s


s_req = (x + r).requires_grad_()
y_req = F.rms_norm(s_req, (D,), w, eps)
rms_bwd = lambda: torch.autograd.grad(y_req, s_req, dy, retain_graph=True)  # noqa: E731

q = torch.randn(T, Hq, Dh, device=dev, dtype=bf16)
k = torch.randn(T, Hkv, Dh, device=dev, dtype=bf16)
inv = 1.0 / (L["theta"] ** (torch.arange(0, Dh, 2, device=dev, dtype=torch.float32) / Dh))
ang = torch.arange(T, device=dev, dtype=torch.float32)[:, None] * inv[None, :]
cos = torch.cat([ang.cos(), ang.cos()], -1).to(bf16)[:, None, :]
sin = torch.cat([ang.sin(), ang.sin()], -1).to(bf16)[:, None, :]


def rotate_half(t):
    return torch.cat([-t[..., Dh // 2:], t[..., : Dh // 2]], -1)


def rope():
    return q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin


g = torch.randn(T, I, device=dev, dtype=bf16)
u = torch.randn(T, I, device=dev, dtype=bf16)
dyi = torch.randn(T, I, device=dev, dtype=bf16)
g_req, u_req = g.clone().requires_grad_(), u.clone().requires_grad_()
y_swi = F.silu(g_req) * u_req
out["layers"] = {
    "rmsnormFwd": seconds(rms_fwd),
    "rmsnormBwd": seconds(rms_bwd),
    "rope": seconds(rope),
    "swigluFwd": seconds(lambda: F.silu(g) * u),
    "swigluBwd": seconds(lambda: torch.autograd.grad(y_swi, (g_req, u_req), dyi, retain_graph=True)),
}
del x, r, dy, s_req, y_req, q, k, g, u, dyi, g_req, u_req, y_swi
torch.cuda.empty_cache()

H = cfg["lmhead"]
T, D, V, temp = H["T"], H["D"], H["V"], H["temperature"]
h = (torch.randn(T, D, device=dev) * 0.5).to(bf16).requires_grad_()
W = (torch.randn(V, D, device=dev) * 0.02).to(bf16).requires_grad_()
ids = torch.randint(0, V, (T,), device=dev)
old = torch.randn(T, device=dev) * 0.01 - 3
adv = torch.randn(T, device=dev)
mask = (torch.rand(T, device=dev) > 0.1).float()


def naive_loss():
    h.grad = W.grad = None
    logits = (h @ W.t()).float() / temp
    logp_all = torch.log_softmax(logits, -1)
    logp = logp_all.gather(-1, ids[:, None]).squeeze(-1)
    with torch.no_grad():
        entropy = -(logp_all.exp() * logp_all).sum(-1)
    ratio = torch.exp(torch.clamp(logp - old, -20, 20))
    pg = torch.maximum(-adv * ratio, -adv * torch.clamp(ratio, 0.8, 1.2))
    loss = (pg * mask).sum() / mask.sum()
    loss.backward()
    return loss, entropy


torch.cuda.synchronize()
base = torch.cuda.memory_allocated()
torch.cuda.reset_peak_memory_stats()
naive_loss()
torch.cuda.synchronize()
peak = torch.cuda.max_memory_allocated() - base
out["lmhead"] = {"seconds": seconds(naive_loss, reps=5, warmup=1), "peakBytes": peak}
del h, W
torch.cuda.empty_cache()

params = [torch.zeros(n, device=dev) for n in cfg["adamw"]]
for p in params:
    p.grad = torch.zeros_like(p)
opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01, fused=True)
out["adamw"] = seconds(opt.step, reps=10, warmup=2)
print(json.dumps(out))
