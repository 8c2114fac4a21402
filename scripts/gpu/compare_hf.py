"""check:gpu — our CUDA Qwen2 runner beside Hugging Face transformers'
Qwen2ForCausalLM on the same tiny random checkpoint and packed batch: per-token
log-probs, entropies, the SFT loss and a few parameter gradients. HF runs each
sequence as its own row in float32 (the truth); torl runs the packed batch on
cuda in f32 and in bf16. Prints a table; exits 1 on a mismatch.
  python3 scripts/gpu/compare_hf.py   (TORL_ADDON names the addon; node on PATH)"""
import json
import os
import subprocess
import sys
import tempfile

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

here = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)
cfg = Qwen2Config(hidden_size=128, intermediate_size=256, num_hidden_layers=3, num_attention_heads=4,
                  num_key_value_heads=2, vocab_size=1000, max_position_embeddings=512, rope_theta=1e6,
                  tie_word_embeddings=False, initializer_range=0.05, torch_dtype="float32")
hf = Qwen2ForCausalLM(cfg).float()
with torch.no_grad():  # random (not zero) biases and norms, so every term is exercised
    for n, p in hf.named_parameters():
        if n.endswith("bias") or "norm" in n:
            p.add_(0.1 * torch.randn_like(p))
tmp = tempfile.mkdtemp()
hf.save_pretrained(tmp, safe_serialization=True)

lengths = [50, 1, 77, 128]
cu = [0]
for n in lengths:
    cu.append(cu[-1] + n)
T = cu[-1]
tokens = torch.randint(0, cfg.vocab_size, (T,))
positions = torch.cat([torch.arange(n) for n in lengths])
targets, mask = torch.zeros(T, dtype=torch.long), torch.zeros(T)
for b in range(len(lengths)):
    for t in range(cu[b], cu[b + 1] - 1):
        targets[t], mask[t] = tokens[t + 1], 1
names = ["model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.bias", "model.layers.1.self_attn.k_proj.weight",
         "model.layers.2.mlp.down_proj.weight", "model.norm.weight", "lm_head.weight"]

# HF reference: one row per sequence, float32, on the GPU.
hf = hf.cuda()
lps, ents = [], []
for b in range(len(lengths)):
    z = hf(input_ids=tokens[cu[b]:cu[b + 1]][None].cuda()).logits[0].float()
    lp = z.log_softmax(-1)
    lps.append(lp.gather(1, targets[cu[b]:cu[b + 1]][:, None].cuda())[:, 0])
    ents.append(-(lp.exp() * lp).sum(-1))
lp, ent = torch.cat(lps), torch.cat(ents)
m = mask.cuda()
loss = -(lp * m).sum() / m.sum()
loss.backward()
ref_grads = dict((n, p.grad.float().cpu()) for n, p in hf.named_parameters() if n in names)

batch = os.path.join(tmp, "batch.json")
with open(batch, "w") as f:
    json.dump({"tokens": tokens.tolist(), "positions": positions.tolist(), "cuSeqlens": cu, "targets": targets.tolist(),
               "mask": mask.tolist(), "grads": names}, f)
ok = True
# Tolerances: f32 — TF32-free fp32 math, small sizes; bf16 — 8-bit mantissas through 3 layers.
for dtype, tol_lp, tol_g in (("f32", 2e-3, 2e-3), ("bf16", 0.15, 0.1)):
    out = os.path.join(tmp, f"ours-{dtype}.json")
    r = subprocess.run(["node", os.path.join(here, "model_dump.mjs"), tmp, batch, out, "cuda", dtype],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(f"FAIL torl cuda {dtype}: {r.stderr.strip().splitlines()[-1:]}")
        ok = False
        continue
    with open(out) as f:
        ours = json.load(f)
    o_lp = torch.tensor(ours["logprob"]) * mask
    rows = [("log-probs max abs err", ((o_lp - lp.detach().cpu() * mask).abs().max().item()), tol_lp),
            ("entropies max abs err", (torch.tensor(ours["entropy"]) - ent.detach().cpu()).abs().max().item(), tol_lp),
            ("SFT loss abs err", abs(ours["loss"] - loss.item()), tol_lp)]
    for n in names:
        g = torch.tensor(ours["grads"][n]).view_as(ref_grads[n])
        rows.append((f"grad {n} max err / max|g|", ((g - ref_grads[n]).abs().max() / ref_grads[n].abs().max()).item(), tol_g))
    for what, err, tol in rows:
        ok &= err <= tol
        print(f"{'ok  ' if err <= tol else 'FAIL'} cuda {dtype:4} {what:58} {err:.2e} (tol {tol})")
print("torl (cuda) matches transformers" if ok else "MISMATCH with transformers")
sys.exit(0 if ok else 1)
