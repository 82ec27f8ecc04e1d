#!/usr/bin/python3
"""Per-step U-Net latency: PyTorch (our own modules in tools/train/models.py, the standard
math of diffusers' UNet2DConditionModel) against `cascade bench`, measured side by side in
one run with the same thread count and the same inputs. Prints one JSON line with both
medians and the ratio cascade / torch (below 1: cascade is faster). With --rounds N the two
take turns N times (torch's iterations, then cascade's, and again), so that a slow spell of
the machine falls on both; each side's time is then the median of its rounds' medians, and
each round's own ratio is listed.

Run with Debian's interpreter: /usr/bin/python3 tools/bench/bench_unet.py --component DIR
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "train"))
import safetensors_np as st  # noqa: E402
from models import UNet  # noqa: E402


def weights_file(d):
    for name in ("diffusion_pytorch_model.safetensors", "model.safetensors", "weights.safetensors"):
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    raise SystemExit(f"{d}: no safetensors weights")


def make_inputs(cfg, batch, size, seq):
    """Seeded inputs shaped for the config (used when no --inputs file is given)."""
    rng = np.random.default_rng(0)
    enc_dim = cfg.get("encoder_hid_dim") or cfg["cross_attention_dim"]
    x = {
        "sample": rng.standard_normal((batch, cfg["in_channels"], size, size), dtype=np.float32),
        "timestep": np.full((batch,), 500, dtype=np.float32),
        "encoder_hidden_states": rng.standard_normal((batch, seq, enc_dim), dtype=np.float32),
    }
    if cfg.get("class_embed_type") == "timestep":
        x["class_labels"] = np.full((batch,), 250, dtype=np.float32)
    return x


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--component", required=True, help="U-Net directory (config.json + weights)")
    ap.add_argument("--inputs", help="inputs safetensors (default: seeded, from the config)")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--size", type=int, default=0, help="sample H = W (default: sample_size)")
    ap.add_argument("--seq", type=int, default=77)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--cascade", default=os.path.join(HERE, "..", "..", "build", "cli", "cascade"))
    ap.add_argument("--backend", default="cpu")
    ap.add_argument("--rounds", type=int, default=1, help="turns each side takes")
    a = ap.parse_args()

    cfg = json.load(open(os.path.join(a.component, "config.json")))
    if a.inputs:
        x = st.load(a.inputs)
    else:
        x = make_inputs(cfg, a.batch, a.size or cfg.get("sample_size") or 64, a.seq)

    torch.set_num_threads(a.threads)
    model = UNet(cfg).eval()
    w = {k: torch.from_numpy(v.astype(np.float32)) for k, v in st.load(weights_file(a.component)).items()}
    model.load_state_dict(w, strict=True)
    t = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in x.items()}
    cl = t.get("class_labels")

    def torch_round():
        times = []
        with torch.no_grad():
            for i in range(a.iterations + 1):
                t0 = time.perf_counter()
                model(t["sample"], t["timestep"], t["encoder_hidden_states"], class_labels=cl)
                if i:  # the first run warms up
                    times.append((time.perf_counter() - t0) * 1e3)
        return times

    with tempfile.TemporaryDirectory() as tmp:
        inputs = a.inputs
        if not inputs:
            inputs = os.path.join(tmp, "in.safetensors")
            st.save(inputs, x)
        torch_meds, ours_meds, rounds, ours = [], [], [], None
        for _ in range(max(1, a.rounds)):
            tt = torch_round()
            out = subprocess.run([a.cascade, "bench", "-c", a.component, "-i", inputs, "-t",
                                  str(a.threads), "-n", str(a.iterations), "-b", a.backend],
                                 check=True, capture_output=True, text=True).stdout
            ours = json.loads(out)
            torch_meds.append(statistics.median(tt))
            ours_meds.append(ours["latency_ms"]["median"])
            rounds.append(round(ours_meds[-1] / torch_meds[-1], 3))
    torch_ms = statistics.median(torch_meds)
    cascade_ms = statistics.median(ours_meds)
    hm = ours.get("host_memory")
    print(json.dumps({
        "component": os.path.abspath(a.component),
        "shape": list(x["sample"].shape),
        "threads": a.threads,
        "torch_version": torch.__version__,
        "torch_median_ms": round(torch_ms, 3),
        "cascade_backend": ours["backend"],
        "cascade_median_ms": cascade_ms,
        "ratio_cascade_over_torch": round(cascade_ms / torch_ms, 3),
        "round_ratios": rounds,
        "cascade_peak_host_bytes": ours["peak_host_bytes"],
        "cascade_activations": ours["activations"],
        "cascade_host_memory": hm,
        # the memory measure: what the run added to the process, over what the model
        # needs (weights and planned activations)
        "cascade_added_over_weights_and_plan": round(
            (ours["peak_host_bytes"] - hm["baseline_bytes"]) /
            (hm["weights_bytes"] + hm["planned_bytes"]), 3) if hm else None,
        # the same without the program and library pages the run first touched (code): shared
        # and reclaimable, a fixed cost of the process rather than of the model
        "cascade_added_without_code_over_weights_and_plan": round(
            (ours["peak_host_bytes"] - hm["baseline_bytes"] - hm.get("code_bytes", 0)) /
            (hm["weights_bytes"] + hm["planned_bytes"]), 3) if hm else None,
    }))


if __name__ == "__main__":
    main()
