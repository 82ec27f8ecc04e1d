#!/usr/bin/python3
"""Check our PyTorch modules against the reference libraries' golden vectors
(../shared/golden: t5_encoder, unet_if_stage1, unet_if_stage2), using each case's tolerance.
Exit status 0 when all pass."""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_np as st  # noqa: E402
from models import T5Encoder, UNet  # noqa: E402


def compare(name, got, want, tol):
    got, want = got.detach().double().numpy(), want.astype(np.float64)
    d = np.abs(got - want)
    ok = bool(np.all(d <= tol["atol"] + tol["rtol"] * np.abs(want)))
    print(f"{name}: max|d|={d.max():.3g} (atol {tol['atol']}) {'OK' if ok else 'FAIL'}")
    return ok


def load_model(cls, case):
    cfg = json.load(open(os.path.join(case, "config.json")))
    m = cls(cfg).eval()
    w = {k: torch.from_numpy(v) for k, v in st.load(os.path.join(case, "weights.safetensors")).items()}
    missing, unexpected = m.load_state_dict(w, strict=False)
    if unexpected or missing:
        raise SystemExit(f"{case}: missing {missing} unexpected {unexpected}")
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--golden", default="/work/shared/golden")
    args = ap.parse_args()
    torch.set_num_threads(1)
    ok = True
    with torch.no_grad():
        case = os.path.join(args.golden, "t5_encoder")
        io = st.load(os.path.join(case, "io.safetensors"))
        tol = json.load(open(os.path.join(case, "case.json")))["tolerance"]
        m = load_model(T5Encoder, case)
        out = m(torch.from_numpy(io["input_ids"]), torch.from_numpy(io["attention_mask"]))
        ok &= compare("t5_encoder/last_hidden_state", out, io["last_hidden_state"], tol)
        for stage in ("unet_if_stage1", "unet_if_stage2"):
            case = os.path.join(args.golden, stage)
            io = st.load(os.path.join(case, "io.safetensors"))
            cj = json.load(open(os.path.join(case, "case.json")))
            m = load_model(UNet, case)
            cl = torch.from_numpy(io["class_labels"]) if "class_labels" in io else None
            hooks = {}
            out = m(torch.from_numpy(io["sample"]), torch.from_numpy(io["timestep"]),
                    torch.from_numpy(io["encoder_hidden_states"]), class_labels=cl, hooks=hooks)
            ok &= compare(f"{stage}/out_sample", out, io["out_sample"], cj["tolerance"])
            for k in sorted(hooks):
                if "hook/" + k in io:
                    g = io["hook/" + k]
                    d = np.abs(hooks[k].double().numpy() - g).max()
                    if d > 1e-4 * max(1.0, np.abs(g).max()):
                        print(f"  hook {k}: max|d|={d:.3g}")
            if "encoder_attention_mask" in io:
                out = m(torch.from_numpy(io["sample"]), torch.from_numpy(io["timestep"]),
                        torch.from_numpy(io["encoder_hidden_states"]), class_labels=cl,
                        encoder_attention_mask=torch.from_numpy(io["encoder_attention_mask"]))
                ok &= compare(f"{stage}/out_sample_masked", out, io["out_sample_masked"],
                              cj["tolerance"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
