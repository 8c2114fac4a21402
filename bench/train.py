"""The PyTorch side of bench/train: training steps (forward + SFT loss + backward
+ AdamW) of one Qwen2 config on one packed batch, timed; prints one JSON line.
  python3 train.py '<json: {config, lengths, steps, threads, device, impl}>'
impl 'plain': bench/qwen2_torch.py (packed, attention per sequence; torch 1.13 on
the CPU); 'hf': transformers' Qwen2ForCausalLM with SDPA, bf16, equal-length rows."""
import json
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
a = json.loads(sys.argv[1])
torch.manual_seed(0)
torch.set_num_threads(a["threads"])
c, lengths, dev = a["config"], a["lengths"], a["device"]
T = sum(lengths)
tokens = torch.randint(0, c["vocab_size"], (T,), device=dev)

if a["impl"] == "hf":
    from transformers import Qwen2Config, Qwen2ForCausalLM

    model = Qwen2ForCausalLM(Qwen2Config(**c, attn_implementation="sdpa")).to(dev, torch.bfloat16)
    ids = tokens.view(len(lengths), lengths[0])

    def loss_fn():
        return model(input_ids=ids, labels=ids).loss
else:
    from qwen2_torch import Qwen2

    model = Qwen2(c).to(dev)
    cu = [0]
    for n in lengths:
        cu.append(cu[-1] + n)
    positions = torch.cat([torch.arange(n) for n in lengths]).to(dev)
    last = torch.zeros(T, dtype=torch.bool)
    last[torch.tensor(cu[1:]) - 1] = True
    targets = torch.roll(tokens, -1).masked_fill(last.to(dev), 0)
    mask = (~last).float().to(dev)

    def loss_fn():
        lp, _ = model.logprobs(tokens, positions, cu, targets)
        return -(lp * mask).sum() / mask.sum()

opt = torch.optim.AdamW(model.parameters(), lr=1e-4)


def step():
    loss = loss_fn()
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    return loss.item()


def sync():
    if dev.startswith("cuda"):
        torch.cuda.synchronize()


step()
sync()
t0 = time.perf_counter()
for _ in range(a["steps"]):
    step()
sync()
dt = (time.perf_counter() - t0) / a["steps"]
peak = torch.cuda.max_memory_allocated() if dev.startswith("cuda") else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"tokens_per_s": T / dt, "step_s": dt, "peak_bytes": peak, "torch": torch.__version__,
                  "params": sum(p.numel() for p in model.parameters())}))
