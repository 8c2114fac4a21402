# GPU reference for bench/gemm.ts: torch.matmul (x @ w.T, bf16 in, bf16 out,
# fp32 accumulate) on the same shapes, timed with CUDA events (median).
# Reads {"shapes": [[N, K, M], ...], "min_seconds": s} on stdin; prints JSON.
import json, sys, time

import torch

cfg = json.load(sys.stdin)
dev = torch.device("cuda")
out = []
for n, k, m in cfg["shapes"]:
    x = torch.randn(n, k, device=dev, dtype=torch.bfloat16)
    w = torch.randn(m, k, device=dev, dtype=torch.bfloat16)
    for _ in range(3):
        x @ w.T
    torch.cuda.synchronize()
    times, start = [], time.perf_counter()
    while len(times) < 5 or (time.perf_counter() - start < cfg["min_seconds"] and len(times) < 500):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        x @ w.T
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b) / 1000)
    times.sort()
    out.append(times[len(times) // 2])
print(json.dumps({"seconds": out, "torch": torch.__version__, "device": torch.cuda.get_device_name()}))
