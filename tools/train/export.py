#!/usr/bin/python3
"""Write the trained cascade as two diffusers pipeline directories (fp16 safetensors):

  <out>/stage1/  IFPipeline layout: model_index.json, text_encoder/ (T5EncoderModel,
                 model.safetensors), tokenizer/ (T5Tokenizer: spiece.model, ...), unet/
                 (UNet2DConditionModel, diffusion_pytorch_model.safetensors), scheduler/
  <out>/stage2/  IFSuperResolutionPipeline layout: model_index.json, unet/, scheduler/,
                 image_noising_scheduler/; no text encoder of its own: like DeepFloyd
                 IF-II it takes stage I's prompt embeddings.

The EMA weights are exported (--weights ema) unless --weights raw is given.

Each stage directory also gets generation_defaults.json: the sampling settings this model
is meant to be run with (steps, guidance, and stage II's noise level). `cascade generate`
takes its defaults from it; diffusers ignores the file. stage1/prompts.json lists what the
model was trained to draw (styles, subjects and every training caption), from the dataset's
captions.json; `cascade generate --list-prompts` and the GIMP dialog show it.
"""
import argparse
import os
import shutil
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import configs  # noqa: E402
import safetensors_np as st  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MAX_FILE = 20 * 1024 * 1024


def fp16(sd, what):
    out = {}
    for k, v in sd.items():
        a = v.detach().float().numpy()
        if np.abs(a).max() > 60000:
            raise SystemExit(f"{what}: tensor {k} overflows fp16 (absmax {np.abs(a).max()})")
        out[k] = a.astype(np.float16)
    return out


def write_weights(path, tensors):
    st.save(path, tensors, metadata={"format": "pt"})
    size = os.path.getsize(path)
    if size > MAX_FILE:
        raise SystemExit(f"{path}: {size} bytes is over the 20 MB limit per file")
    return size


def prompts_list(captions_json):
    """prompts.json: what the model can draw, from the training captions."""
    import json
    items = json.load(open(captions_json))["items"]
    return {"styles": sorted({it["style"] for it in items}),
            "subjects": sorted({c.rsplit(", ", 1)[0] for it in items
                                for c in it["captions"]}),
            "prompts": sorted({c for it in items for c in it["captions"]})}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", default=os.path.join(HERE, "runs", "emoji"))
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "emoji-cascade"))
    ap.add_argument("--weights", choices=("ema", "raw"), default="ema")
    ap.add_argument("--steps1", type=int, default=30, help="recommended stage I steps")
    ap.add_argument("--guidance1", type=float, default=7.0)
    ap.add_argument("--steps2", type=int, default=15, help="recommended stage II steps")
    ap.add_argument("--guidance2", type=float, default=1.0)
    ap.add_argument("--noise-level", type=int, default=250, help="stage II augmentation")
    ap.add_argument("--strength2", type=float, default=1.0,
                    help="stage II start: < 1 starts from stage I's image enlarged and "
                         "re-noised (IFImg2ImgSuperResolutionPipeline), 1 from pure noise")
    ap.add_argument("--data", default=os.path.join(ROOT, "tools", "dataset", "cache"),
                    help="the dataset trained on (its captions.json gives prompts.json)")
    args = ap.parse_args()
    key = "ema" if args.weights == "ema" else "model"
    s1 = torch.load(os.path.join(args.run, "stage1.pt"), map_location="cpu")
    s2 = torch.load(os.path.join(args.run, "stage2.pt"), map_location="cpu")
    if "t5" in s1:  # trained with the text encoder frozen
        t5_sd, (u1_sd,) = s1["t5"], s1[key]
    else:
        t5_sd, u1_sd = s1[key]
    (u2_sd,) = s2[key]
    total = 0
    d1, d2 = os.path.join(args.out, "stage1"), os.path.join(args.out, "stage2")
    for d in (d1, d2):
        if os.path.isdir(d):
            shutil.rmtree(d)
    configs.write_json(os.path.join(d1, "model_index.json"), configs.model_index(1))
    configs.write_json(os.path.join(d1, "scheduler", "scheduler_config.json"),
                       configs.scheduler_config(1))
    configs.write_json(os.path.join(d1, "text_encoder", "config.json"), s1["t5_config"])
    total += write_weights(os.path.join(d1, "text_encoder", "model.safetensors"),
                           fp16(t5_sd, "text_encoder"))
    os.makedirs(os.path.join(d1, "tokenizer"))
    shutil.copy(os.path.join(args.run, "spiece.model"), os.path.join(d1, "tokenizer"))
    tcfg, stm = configs.tokenizer_files()
    configs.write_json(os.path.join(d1, "tokenizer", "tokenizer_config.json"), tcfg)
    configs.write_json(os.path.join(d1, "tokenizer", "special_tokens_map.json"), stm)
    configs.write_json(os.path.join(d1, "unet", "config.json"), s1["unet_config"])
    total += write_weights(os.path.join(d1, "unet", "diffusion_pytorch_model.safetensors"),
                           fp16(u1_sd, "stage1 unet"))
    # the training set's fingerprint (build_dataset.py --verify checks a rebuild against it)
    shutil.copy(os.path.join(args.data, "fingerprint.json"), os.path.join(args.out, "dataset.json"))
    configs.write_json(os.path.join(d1, "prompts.json"),
                       prompts_list(os.path.join(args.data, "captions.json")))
    configs.write_json(os.path.join(d1, "generation_defaults.json"),
                       {"steps": args.steps1, "guidance": args.guidance1})
    configs.write_json(os.path.join(d2, "generation_defaults.json"),
                       {"steps": args.steps2, "guidance": args.guidance2,
                        "noise_level": args.noise_level, "strength": args.strength2})
    configs.write_json(os.path.join(d2, "model_index.json"), configs.model_index(2))
    configs.write_json(os.path.join(d2, "scheduler", "scheduler_config.json"),
                       configs.scheduler_config(2))
    configs.write_json(os.path.join(d2, "image_noising_scheduler", "scheduler_config.json"),
                       configs.image_noising_scheduler_config())
    configs.write_json(os.path.join(d2, "unet", "config.json"), s2["unet_config"])
    total += write_weights(os.path.join(d2, "unet", "diffusion_pytorch_model.safetensors"),
                           fp16(u2_sd, "stage2 unet"))
    print(f"exported {args.weights} weights: stage1 step {s1['step']} "
          f"({s1.get('seconds', 0) / 60:.1f} min), stage2 step {s2['step']} "
          f"({s2.get('seconds', 0) / 60:.1f} min); {total / 2**20:.1f} MiB of weights "
          f"in {args.out}")


if __name__ == "__main__":
    main()
