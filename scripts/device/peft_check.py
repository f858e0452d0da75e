#!/usr/bin/env python3
"""Independent reference for Hindsight's training graphs: PyTorch + transformers + PEFT.

Loads the fixture written by scripts/device/peft_fixture.ts (a generated micro Qwen2 model, a
LoRA adapter saved by Hindsight in PEFT format, Hindsight's float64 logits and cross-entropy
LoRA gradients) and checks, in float64:
  1. the adapter loads in PEFT and the logits match Hindsight's;
  2. the LoRA gradients of  -mean_t log pi(y_t)  over the response match Hindsight's.
Needs torch, transformers, peft, safetensors (the lent GPU machine has them; CPU is enough).
Usage: python3 scripts/device/peft_check.py FIXTURE_DIR   (exit 0 = all match)
"""
import json
import sys

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM

LOGIT_TOL = 1e-8   # float64 both sides; only summation order differs
GRAD_TOL = 1e-6    # relative, per tensor: ||ours - torch|| / (||ours|| + ||torch||)


def main(d: str) -> int:
    exp = json.load(open(f"{d}/expected.json"))
    try:
        base = AutoModelForCausalLM.from_pretrained(f"{d}/model", dtype=torch.float64, attn_implementation="eager")
    except TypeError:  # transformers < 4.56 names it torch_dtype
        base = AutoModelForCausalLM.from_pretrained(f"{d}/model", torch_dtype=torch.float64, attn_implementation="eager")
    model = PeftModel.from_pretrained(base, f"{d}/adapter", is_trainable=True).double()
    model.eval()  # no dropout; gradients still flow

    ids = torch.tensor([exp["input_ids"]], dtype=torch.long)
    logits = model(input_ids=ids).logits[0]  # [T, V]
    ours = torch.tensor(exp["logits"], dtype=torch.float64).view(len(exp["input_ids"]), exp["vocab"])
    logit_err = (logits.detach() - ours).abs().max().item()
    ok = logit_err <= LOGIT_TOL
    print(f"logits: max |peft - hindsight| = {logit_err:.3e} ({'ok' if ok else 'MISMATCH'})")

    c, n = len(exp["context"]), len(exp["response"])
    logp = torch.log_softmax(logits, dim=-1)
    targets = torch.tensor(exp["response"], dtype=torch.long)
    picked = logp[c - 1 : c - 1 + n].gather(1, targets[:, None])[:, 0]
    loss = -picked.mean()
    loss.backward()
    print(f"cross-entropy: peft {loss.item():.12f}, hindsight {exp['ce_loss']:.12f}")
    ok = ok and abs(loss.item() - exp["ce_loss"]) <= 1e-9

    seen = 0
    worst = 0.0
    for name, p in model.named_parameters():
        if "lora_" not in name:
            continue
        key = name.replace(".default", "")
        if key not in exp["grads"]:
            print(f"missing gradient for {key} in the fixture")
            ok = False
            continue
        g = torch.tensor(exp["grads"][key], dtype=torch.float64).view_as(p)
        err = ((p.grad - g).norm() / (p.grad.norm() + g.norm() + 1e-300)).item()
        worst = max(worst, err)
        seen += 1
        if err > GRAD_TOL:
            print(f"gradient {key}: relative error {err:.3e} MISMATCH")
            ok = False
    if seen != len(exp["grads"]):
        print(f"PEFT has {seen} LoRA tensors, the fixture {len(exp['grads'])}")
        ok = False
    print(f"LoRA gradients: {seen} tensors, worst relative error {worst:.3e}")
    print(json.dumps({"check": "peft", "ok": ok, "logit_max_abs_err": logit_err, "grad_worst_rel_err": worst, "tensors": seen}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ".tmp/train/peft-fixture"))
