#!/usr/bin/python3
"""Check diffusion.py's DDPM step (learned_range, dynamic thresholding) against diffusers'
golden DDPMScheduler cases (../shared/golden/scheduler_ddpm_if_stage{1,2})."""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_np as st  # noqa: E402
from diffusion import Schedule, ddpm_step, leading_timesteps  # noqa: E402


def main(golden="/work/shared/golden"):
    ok = True
    for case, maxv in (("scheduler_ddpm_if_stage1", 1.5), ("scheduler_ddpm_if_stage2", 1.0)):
        io = st.load(os.path.join(golden, case, "io.safetensors"))
        s = Schedule()
        d = np.abs(s.alphas_cumprod.numpy() - io["alphas_cumprod"]).max()
        print(f"{case}: alphas_cumprod max|d| {d:.2g}")
        ok &= d < 1e-6
        for n in (10, 25):
            ts = leading_timesteps(n)
            ok &= list(io[f"n{n}/timesteps"]) == ts
            x = torch.from_numpy(io[f"n{n}/sample_0"])
            worst = 0.0
            for i, t in enumerate(ts):
                prev = ts[i + 1] if i + 1 < n else -1
                mo = torch.from_numpy(io[f"n{n}/step{i}/model_output"])
                noise = io.get(f"n{n}/step{i}/noise")
                orig = torch.randn
                if noise is not None:
                    torch.randn = lambda *a, **k: torch.from_numpy(noise)  # the drawn noise
                try:
                    x, _ = ddpm_step(s, mo, t, prev, x, None, max_value=maxv)
                finally:
                    torch.randn = orig
                worst = max(worst, float(np.abs(x.numpy() - io[f"n{n}/step{i}/prev_sample"]).max()))
                x = torch.from_numpy(io[f"n{n}/step{i}/prev_sample"])
            print(f"  n{n}: per-step prev_sample max|d| {worst:.2g}")
            ok &= worst < 1e-4
    print("OK" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
