"""Load an exported cascade (models/emoji-cascade/{stage1,stage2}) into our PyTorch modules
(fp16 weights upcast to fp32, or kept in fp64 for tolerance measurements) and run it."""
import json
import os

import torch

import safetensors_np as st
from models import T5Encoder, UNet
from tokenizer import Tokenizer


def _load(cls, d, fname, dtype):
    cfg = json.load(open(os.path.join(d, "config.json")))
    m = cls(cfg)
    w = {k: torch.from_numpy(v).to(dtype) for k, v in st.load(os.path.join(d, fname)).items()}
    m.load_state_dict(w, strict=True)
    return m.to(dtype).eval().requires_grad_(False)


class Cascade:
    def __init__(self, root, dtype=torch.float32, stage2=True):
        s1 = os.path.join(root, "stage1")
        self.dtype = dtype
        self.tokenizer = Tokenizer(os.path.join(s1, "tokenizer", "spiece.model"))
        self.text_encoder = _load(T5Encoder, os.path.join(s1, "text_encoder"),
                                  "model.safetensors", dtype)
        self.unet1 = _load(UNet, os.path.join(s1, "unet"), "diffusion_pytorch_model.safetensors",
                           dtype)
        self.unet2 = _load(UNet, os.path.join(root, "stage2", "unet"),
                           "diffusion_pytorch_model.safetensors", dtype) if stage2 else None

    @torch.no_grad()
    def encode(self, prompts):
        """list of str -> (input_ids, attention_mask, T5 states (B, 77, d_model))."""
        ids, mask = self.tokenizer.encode(prompts)
        ids, mask = torch.from_numpy(ids), torch.from_numpy(mask)
        return ids, mask, self.text_encoder(ids, mask)
