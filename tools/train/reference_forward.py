#!/usr/bin/python3
"""Reference outputs of the shipped model for the C engine's parity test.

Loads an exported cascade (default models/emoji-cascade) with our PyTorch modules (the fp16
weights upcast to fp32) and runs the text encoder and both U-Nets on fixed inputs. Writes
one folder per case, laid out like a ../shared/golden case so that the engine's golden
runner runs it as it is (`golden-runner models/parity/emoji-cascade`, the `parity` test):

  <out>/text_encoder/io.safetensors  input_ids (2,77) I64, attention_mask (2,77) I64
                                     -> last_hidden_state (2,77,d_model) F32
  <out>/unet_stage1/io.safetensors   sample (2,3,S,S) F32, timestep (2,) I64,
                                     encoder_hidden_states (2,77,d_model) F32
                                     -> out_sample (2,6,S,S) F32 (+ hook/* debug tensors),
                                     S = the stage I U-Net's sample_size
  <out>/unet_stage2/io.safetensors   sample (1,6,64,64) F32, timestep (1,) I64,
                                     encoder_hidden_states (1,77,d_model) F32,
                                     class_labels (1,) I64 -> out_sample (1,6,64,64) F32
                                     (a 64 px crop-sized input keeps the file small: the
                                     U-Net is convolutional, every layer still runs)
  <out>/<case>/case.json             meaning of every tensor, the call, the tolerance, and
                                     produced_by.class (the golden runner's dispatch key)
  <out>/<case>/config.json, model.safetensors or weights.safetensors: relative symlinks to
                                     the shipped model's files (no copy of the weights)

Prompts: "red apple, flat style" and "" (the unconditional prompt of classifier-free
guidance). encoder_hidden_states are the text encoder's own outputs, so the cases chain.
Tolerance as in the golden set: atol = max(10 x max|fp32 - fp64|, 1e-6 x absmax) over
this very case (the fp64 run uses the same fp16 weights), rtol 1e-4.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_np as st  # noqa: E402
from pipeline import Cascade  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PROMPTS = ["red apple, flat style", ""]
UNET_WEIGHTS = "diffusion_pytorch_model.safetensors"


def tolerance(out32, out64):
    d = (out32.double() - out64).abs().max().item()
    absmax = out64.abs().max().item()
    atol = max(10 * d, 1e-6 * absmax, 1e-12)
    unit = 10.0 ** math.floor(math.log10(atol))
    atol = float(f"{math.ceil(atol / unit - 1e-9) * unit:.1g}")  # round up, 1 digit
    return {"applies_to": "out (last_hidden_state / out_sample)", "atol": atol, "rtol": 1e-4,
            "rule": "|got - golden| <= atol + rtol*|golden| elementwise",
            "measured_fp32_vs_fp64_max_abs": d, "golden_absmax": absmax,
            "how_derived": "atol = max(10 x max|torch fp32 - torch fp64| on this case, "
                           "1e-06 x absmax), rounded up"}


def describe(tensors, meaning):
    out = {}
    for k, v in tensors.items():
        a = v.numpy() if torch.is_tensor(v) else v
        e = {"shape": list(a.shape), "dtype": str(a.dtype), "min": float(a.min()),
             "max": float(a.max())}
        e["meaning"] = meaning.get(k, meaning.get(k.split("/")[0] + "/*", ""))
        out[k] = e
    return out


def link_model_files(d, links):
    """Relative symlinks <d>/<name> -> the shipped model's files (a golden case's layout)."""
    for name, target in links.items():
        path = os.path.join(d, name)
        if os.path.lexists(path):
            os.remove(path)
        os.symlink(os.path.relpath(target, d), path)


def write_case(d, name, inputs, outputs, debug, meaning, call, tol, model_dir, cls, links):
    os.makedirs(d, exist_ok=True)
    link_model_files(d, links)
    all_t = {**inputs, **outputs, **debug}
    arrays = {k: (v.numpy() if torch.is_tensor(v) else v) for k, v in all_t.items()}
    arrays = {k: (a.astype(np.float32) if a.dtype.kind == "f" else a.astype(np.int64))
              for k, a in arrays.items()}
    st.save(os.path.join(d, "io.safetensors"), arrays, metadata={"case": name})
    case = {"case": name, "generator": "tools/train/reference_forward.py",
            "produced_by": {"class": cls, "implementation": "tools/train/models.py (our "
                            "PyTorch mirror of the class, checked against ../shared/golden)"},
            "model": model_dir, "call": call,
            "inputs": describe(inputs, meaning), "outputs": describe(outputs, meaning),
            "debug": describe(debug, meaning), "tolerance": tol,
            "notes": ["Weights are the shipped fp16 safetensors, upcast to fp32 (fp64 for "
                      "the tolerance run); an engine computing in fp32 from the same fp16 "
                      "weights should meet atol/rtol. An engine computing in fp16 needs a "
                      "looser, fp16-scaled tolerance (e.g. 1e-2 x absmax)."]}
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump(case, f, indent=1)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "emoji-cascade"))
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "parity", "emoji-cascade"))
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    c32 = Cascade(args.model, torch.float32)
    c64 = Cascade(args.model, torch.float64)
    rel = os.path.relpath(args.model, ROOT)
    s1, s2 = os.path.join(args.model, "stage1"), os.path.join(args.model, "stage2")

    # text encoder
    ids, mask, h32 = c32.encode(PROMPTS)
    h64 = c64.text_encoder(ids, mask)
    write_case(os.path.join(args.out, "text_encoder"), "emoji_text_encoder",
               {"input_ids": ids, "attention_mask": mask}, {"last_hidden_state": h32}, {},
               {"input_ids": f"T5Tokenizer ids of {PROMPTS!r}: SentencePiece ids, </s>=1, "
                             "padded with <pad>=0 to 77",
                "attention_mask": "1 on tokens including </s>, 0 on padding",
                "last_hidden_state": "T5EncoderModel last_hidden_state"},
               {"python": "T5EncoderModel.from_pretrained(stage1/text_encoder)(input_ids="
                          "input_ids, attention_mask=attention_mask).last_hidden_state"},
               tolerance(h32, h64), rel, "transformers.T5EncoderModel",
               {"config.json": os.path.join(s1, "text_encoder", "config.json"),
                "model.safetensors": os.path.join(s1, "text_encoder", "model.safetensors")})

    g = torch.Generator().manual_seed(1234)
    # stage I U-Net: batch = (prompt, unconditional) as in a guided step
    s1px = c32.unet1.cfg["sample_size"]  # the stage's own size
    x = torch.randn((2, 3, s1px, s1px), generator=g)
    t = torch.tensor([999, 437], dtype=torch.long)
    hooks = {}
    o32 = c32.unet1(x, t, h32, hooks=hooks)
    o64 = c64.unet1(x.double(), t, h32.double())
    # the embeddings and the mid block only, to keep the file lean
    debug = {f"hook/{k}": v for k, v in hooks.items()
             if k in ("time_proj", "time_embedding", "add_embedding", "encoder_hid_proj",
                      "mid_block")}
    write_case(os.path.join(args.out, "unet_stage1"), "emoji_unet_stage1",
               {"sample": x, "timestep": t, "encoder_hidden_states": h32},
               {"out_sample": o32}, debug,
               {"sample": f"noisy input (batch, 3, {s1px}, {s1px}), N(0,1)",
                "timestep": "per-batch diffusion timestep (int64)",
                "encoder_hidden_states": "the text_encoder case's last_hidden_state, "
                                         "no encoder_attention_mask (as IFPipeline)",
                "out_sample": f"(batch, 6, {s1px}, {s1px}): eps (0-2) and learned-range "
                              "variance values (3-5)",
                "hook/*": "intermediate values (names as in ../shared/golden unet cases)"},
               {"python": "UNet2DConditionModel.from_pretrained(stage1/unet)(sample, timestep, "
                          "encoder_hidden_states).sample"},
               tolerance(o32, o64), rel, "diffusers.UNet2DConditionModel",
               {"config.json": os.path.join(s1, "unet", "config.json"),
                "weights.safetensors": os.path.join(s1, "unet", UNET_WEIGHTS)})

    # stage II U-Net, batch 1 (the prompt), on a 64 px input to keep the file small
    x2 = torch.randn((1, 6, 64, 64), generator=g)
    t2 = torch.tensor([643], dtype=torch.long)
    cl = torch.tensor([250], dtype=torch.long)
    hooks = {}
    o32 = c32.unet2(x2, t2, h32[:1], class_labels=cl, hooks=hooks)
    o64 = c64.unet2(x2.double(), t2, h32[:1].double(), class_labels=cl)
    debug = {f"hook/{k}": v for k, v in hooks.items()
             if k in ("time_proj", "time_embedding", "class_embedding", "add_embedding",
                      "encoder_hid_proj", "mid_block")}
    write_case(os.path.join(args.out, "unet_stage2"), "emoji_unet_stage2",
               {"sample": x2, "timestep": t2, "encoder_hidden_states": h32[:1],
                "class_labels": cl},
               {"out_sample": o32}, debug,
               {"sample": "(1, 6, 64, 64): noisy image ++ noised upscaled stage I image, N(0,1)",
                "timestep": "diffusion timestep (int64)",
                "encoder_hidden_states": "first row of the text_encoder case's output",
                "class_labels": "noise-augmentation level of the upscaled image (int64)",
                "out_sample": "(1, 6, 64, 64): eps (0-2) and learned-range variance (3-5)",
                "hook/*": "intermediate values; hook/time_proj is of `timestep`"},
               {"python": "UNet2DConditionModel.from_pretrained(stage2/unet)(sample, timestep, "
                          "encoder_hidden_states, class_labels=class_labels).sample"},
               tolerance(o32, o64), rel, "diffusers.UNet2DConditionModel",
               {"config.json": os.path.join(s2, "unet", "config.json"),
                "weights.safetensors": os.path.join(s2, "unet", UNET_WEIGHTS)})
    for case in ("text_encoder", "unet_stage1", "unet_stage2"):
        tol = json.load(open(os.path.join(args.out, case, "case.json")))["tolerance"]
        size = os.path.getsize(os.path.join(args.out, case, "io.safetensors"))
        print(f"{case}: atol {tol['atol']:.1e} (fp32-fp64 {tol['measured_fp32_vs_fp64_max_abs']:.1e}, "
              f"absmax {tol['golden_absmax']:.3g}), io {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
