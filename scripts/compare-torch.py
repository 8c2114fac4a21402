"""External truth for the runner: log-probs, entropies, the SFT loss and its
gradients from an independent PyTorch Qwen2 (bench/qwen2_torch.py) on the
same checkpoint and packed batch. Run by scripts/compare-torch.ts through
Debian's /usr/bin/python3 (python3-torch).
  python3 compare-torch.py <model dir> <batch.json>  → JSON on stdout"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
from qwen2_torch import load  # noqa: E402

torch.manual_seed(0)
model = load(sys.argv[1]).double()  # float64: the reference, not a second float32 opinion
with open(sys.argv[2]) as f:
    b = json.load(f)
tokens, positions, targets = (torch.tensor(b[k], dtype=torch.long) for k in ("tokens", "positions", "targets"))
mask = torch.tensor(b["mask"], dtype=torch.float64)
lp, ent = model.logprobs(tokens, positions, b["cuSeqlens"], targets, b["temperature"])
loss = -(lp * mask).sum() / mask.sum()
loss.backward()
grads = {n: p.grad.flatten().tolist() for n, p in model.named_parameters() if n in b["grads"]}
print(json.dumps({"logprob": lp.tolist(), "entropy": ent.tolist(), "loss": loss.item(), "grads": grads}))
