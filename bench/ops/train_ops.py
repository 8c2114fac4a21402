# The PyTorch CPU reference for bench/ops/train.ts (run with Debian's system
# Python and its python3-torch). Reads JSON on stdin, prints one JSON line:
#   lmhead: the naive path, full logits → log_softmax → gather, entropy from the
#           full softmax, autograd backward (seconds per forward, per forward+backward,
#           and the process's peak-RSS growth over the run)
#   adamw:  torch.optim.AdamW(foreach=True).step() over the same tensor list
#   sample: softmax / sort / cumsum top-p / multinomial per batch (rows per second)
import json
import resource
import sys
import time

import torch


def timeit(fn, reps, warmup=1):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return ts[len(ts) // 2]


def maxrss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def lmhead(T, D, V, temperature, reps):
    g = torch.Generator().manual_seed(0)
    h = (torch.rand(T, D, generator=g) * 2 - 1).requires_grad_()
    w = ((torch.rand(V, D, generator=g) * 2 - 1) * 0.05).requires_grad_()
    ids = torch.randint(0, V, (T,), generator=g)
    gl, gh = torch.rand(T, generator=g), torch.rand(T, generator=g)

    def forward():
        logp = torch.log_softmax(h @ w.t() / temperature, dim=-1)
        lp = logp.gather(1, ids[:, None])[:, 0]
        ent = -(logp.exp() * logp).sum(-1)
        return lp, ent

    def fwd():
        with torch.no_grad():
            forward()

    def fwd_bwd():
        h.grad = None
        w.grad = None
        lp, ent = forward()
        ((gl * lp).sum() + (gh * ent).sum()).backward()

    rss0 = maxrss_bytes()
    out = {"fwd": timeit(fwd, reps), "fwdBwd": timeit(fwd_bwd, reps)}
    out["peakRssGrowth"] = maxrss_bytes() - rss0
    return out


def adamw(sizes, reps):
    params = [torch.nn.Parameter(torch.rand(n) * 2 - 1) for n in sizes]
    for p in params:
        p.grad = torch.rand(p.shape) * 0.2 - 0.1
    opt = torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, foreach=True)
    return {"step": timeit(opt.step, reps)}


def sample(B, V, temperature, top_p, reps):
    g = torch.Generator().manual_seed(0)
    logits = (torch.rand(B, V, generator=g) * 2 - 1) * 8

    def run():
        probs = torch.softmax(logits / temperature, dim=-1)
        sp, si = probs.sort(dim=-1, descending=True)
        drop = sp.cumsum(-1) - sp >= top_p
        sp = sp.masked_fill(drop, 0)
        pick = torch.multinomial(sp, 1, generator=g)
        return si.gather(1, pick)

    return {"rowsPerSec": B / timeit(run, reps)}


def main():
    cfg = json.load(sys.stdin)
    torch.set_num_threads(cfg["threads"])
    out = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    out["lmhead"] = [lmhead(c["T"], c["D"], c["V"], c["temperature"], cfg["reps"]) for c in cfg["lmhead"]]
    out["adamw"] = adamw(cfg["adamw"], cfg["reps"])
    s = cfg["sample"]
    out["sample"] = sample(s["B"], s["V"], s["temperature"], s["topP"], cfg["reps"])
    print(json.dumps(out))


main()
