"""Independent reference for Hindsight's generated graphs on a machine with PyTorch, transformers
and PEFT (the lent GPU machine): loads a model folder written by `npm run make-model`, computes
logits for fixed token ids with transformers, and the same with a PEFT LoRA adapter whose values
are read from adapter.safetensors (PEFT names, as server/model/lora.ts builds them). Writes
golden.json, which scripts/device/compare.ts checks the ONNX decoder against.

Usage: python scripts/device/compare_transformers.py MODEL_DIR [ADAPTER_DIR] > golden.json
"""
import json
import sys

import torch
from transformers import AutoModelForCausalLM

IDS = [3, 17, 5, 90, 42, 8, 61]


def main() -> None:
    model_dir = sys.argv[1]
    model = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float64)
    model.eval()
    ids = torch.tensor([IDS])
    out = {"ids": IDS}
    with torch.no_grad():
        out["logits"] = model(ids).logits[0].tolist()
    if len(sys.argv) > 2:
        from peft import PeftModel

        peft = PeftModel.from_pretrained(model, sys.argv[2])
        with torch.no_grad():
            out["lora_logits"] = peft(ids).logits[0].tolist()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
