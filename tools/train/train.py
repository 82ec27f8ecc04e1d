#!/usr/bin/python3
"""Train the emoji cascade (PyTorch, CPU or CUDA), resumable from checkpoints.

  stage 1: SentencePiece tokenizer (trained on the captions once), T5 encoder and the 64 px
           stage I U-Net, trained jointly; 10 % of captions dropped to "" for
           classifier-free guidance; loss = MSE(eps) + vlb_weight * VLB(learned-range var).
  stage 2: 64 -> 256 super-resolution U-Net on random crops of the 256 px images, the
           text encoder frozen from the stage 1 checkpoint, noise-conditioning augmentation
           of the upscaled 64 px image at a random level s (the U-Net's class label).

A new run can start from an exported model (--init-from models/emoji-cascade, the shipped
fp16 EMA weights; a fresh optimizer warms up again), so each sitting adds to the last.
--freeze-text keeps stage I's text encoder as it is (stage II can then train beside it on
the very encoder that ships). --place P places a share P of each batch anew (augment.py:
moved, resized, cut by the frame, sometimes over another emoji), so that the model knows
the partial pictures that inpainting and outpainting show it. --eval-minutes writes a learning curve (<run>/curve1.jsonl:
prompt fidelity of the EMA weights against training samples seen).

Checkpoints (<run>/stage{1,2}.pt, pickles for our own use only; the shipped model is
written by export.py as safetensors) hold model, EMA, optimizer and step; a new run with
the same --run resumes. --smoke runs a few steps on a tiny subset (< 1 minute) for CI.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import configs  # noqa: E402
from diffusion import Schedule, hybrid_loss, min_snr_weights, trunc_snr_weights  # noqa: E402
import augment  # noqa: E402
import quick_eval  # noqa: E402
import safetensors_np as st  # noqa: E402
from models import T5Encoder, UNet  # noqa: E402
from tokenizer import Tokenizer, train_spiece  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def load_dataset(data, smoke):
    meta = json.load(open(os.path.join(data, "captions.json")))
    items = meta["items"]
    im64 = np.load(os.path.join(data, "emoji64.npz"))["images"]
    if smoke:
        items, im64 = items[:8], im64[:8]
    return items, im64


def to_float(x):
    """uint8 (N, H, W, 3) -> float (N, 3, H, W) in [-1, 1]."""
    return torch.from_numpy(x).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def t5_init_(m, cfg):
    """T5's initialisation (transformers T5PreTrainedModel._init_weights, factor 1)."""
    d, dk, h, ff = cfg["d_model"], cfg["d_kv"], cfg["num_heads"], cfg["d_ff"]
    with torch.no_grad():
        m.shared.weight.normal_(0, 1.0)
        for blk in m.encoder.block:
            a = blk.layer[0].SelfAttention
            a.q.weight.normal_(0, (d * dk) ** -0.5)
            a.k.weight.normal_(0, d ** -0.5)
            a.v.weight.normal_(0, d ** -0.5)
            a.o.weight.normal_(0, (h * dk) ** -0.5)
            if hasattr(a, "relative_attention_bias"):
                a.relative_attention_bias.weight.normal_(0, d ** -0.5)
            f = blk.layer[1].DenseReluDense
            f.wi_0.weight.normal_(0, d ** -0.5)
            f.wi_1.weight.normal_(0, d ** -0.5)
            f.wo.weight.normal_(0, ff ** -0.5)


def unet_init_(m):
    with torch.no_grad():
        m.conv_out.weight.zero_()
        m.conv_out.bias.zero_()


class EMA:
    def __init__(self, modules, decay):
        self.decay = decay
        self.shadow = [{k: v.detach().clone() for k, v in mod.state_dict().items()}
                       for mod in modules]

    @torch.no_grad()
    def update(self, modules, step):
        d = min(self.decay, (1 + step) / (10 + step))
        for sh, mod in zip(self.shadow, modules):
            for k, v in mod.state_dict().items():
                if v.dtype.is_floating_point:
                    sh[k].mul_(d).add_(v.detach(), alpha=1 - d)
                else:
                    sh[k].copy_(v)


def load_exported(module, path):
    """Weights of an exported (fp16 safetensors) component into a module, as fp32."""
    w = {k: torch.from_numpy(v).float() for k, v in st.load(path).items()}
    module.load_state_dict(w, strict=True)


def save_ckpt(path, obj):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stage", type=int, choices=(1, 2), required=True)
    ap.add_argument("--data", default=os.path.join(ROOT, "tools", "dataset", "cache"))
    ap.add_argument("--run", default=os.path.join(HERE, "runs", "emoji"))
    ap.add_argument("--minutes", type=float, default=10.0, help="wall-clock budget of this run")
    ap.add_argument("--max-steps", type=int, default=0, help="stop at this global step")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=4e-4)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--cfg-drop", type=float, default=0.1)
    ap.add_argument("--vlb-weight", type=float, default=1.0)
    ap.add_argument("--crop", type=int, default=64, help="stage 2 training crop (256 px image)")
    ap.add_argument("--aug-max", type=int, default=500,
                    help="stage 2: noise augmentation level drawn from [0, aug-max)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ckpt-minutes", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--init-from", default="",
                    help="exported model folder to start from when the run has no checkpoint")
    ap.add_argument("--freeze-text", action="store_true",
                    help="stage 1: train the U-Net only, keep the text encoder")
    ap.add_argument("--loss-weight", choices=("uniform", "min-snr", "trunc-snr"),
                    default="uniform", help="epsilon-loss weighting over timesteps")
    ap.add_argument("--snr-gamma", type=float, default=5.0)
    ap.add_argument("--max-weight", type=float, default=20.0,
                    help="trunc-snr: cap of the noisy timesteps' weight")
    ap.add_argument("--widths", default=None,
                    help="stage 1 U-Net block widths of a new U-Net (default: the --init-from "
                         "model's shape, else 16,32,64)")
    ap.add_argument("--layers", type=int, default=None,
                    help="stage 1 resnets per level of a new U-Net (default 1)")
    ap.add_argument("--attn-levels", default="",
                    help="stage 1 levels with attention, e.g. 2,3 (default: the lowest)")
    ap.add_argument("--res", type=int, default=None, choices=(16, 32, 64),
                    help="stage 1 resolution (new run): the 64 px images area-averaged down")
    ap.add_argument("--lo-res", type=int, default=None, choices=(16, 32, 64),
                    help="stage 2: the size of stage I's images it enlarges to 256 px "
                         "(default: stage I's sample_size)")
    ap.add_argument("--eval-minutes", type=float, default=0.0,
                    help="stage 1: measure prompt fidelity of the EMA every this many minutes")
    ap.add_argument("--place", type=float, default=0.0,
                    help="share of each batch placed anew (moved, resized, cut by the frame, "
                         "sometimes over another emoji: augment.py; stage 2 places the image "
                         "and its low-resolution copy alike), so that inpainting and "
                         "outpainting see pictures the model knows")
    ap.add_argument("--eval-n", type=int, default=32)
    ap.add_argument("--eval-steps", type=int, default=20)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--smoke", action="store_true", help="a few steps on 8 images, for CI")
    args = ap.parse_args()
    if args.smoke:
        args.minutes, args.batch, args.warmup = min(args.minutes, 0.75), 4, 2
        args.max_steps = args.max_steps or 3
        args.crop = 32
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed + int(time.time()) % 100000)
    rng = np.random.default_rng(args.seed + int(time.time()) % 100000)
    dev = torch.device(args.device)
    os.makedirs(args.run, exist_ok=True)
    t_start = time.time()

    items, im64 = load_dataset(args.data, args.smoke)
    sp_path = os.path.join(args.run, "spiece.model")
    init = args.init_from
    if init and not os.path.exists(sp_path):
        import shutil
        shutil.copy(os.path.join(init, "stage1", "tokenizer", "spiece.model"), sp_path)
    if not os.path.exists(sp_path):
        if args.stage != 1:
            raise SystemExit(f"{sp_path} missing: train stage 1 first")
        train_spiece(os.path.join(args.data, "corpus.txt"), sp_path)
    tok = Tokenizer(sp_path)
    captions = [c for it in items for c in it["captions"]]
    cap_index = []  # per image: indices into captions
    k = 0
    for it in items:
        cap_index.append(list(range(k, k + len(it["captions"]))))
        k += len(it["captions"])
    ids_np, mask_np = tok.encode(captions + [""])
    ids, mask = torch.from_numpy(ids_np).to(dev), torch.from_numpy(mask_np).to(dev)
    empty = len(captions)

    t5_cfg = configs.t5_config(len(tok))
    t5 = T5Encoder(t5_cfg).to(dev)
    sched = Schedule()
    sched.alphas_cumprod = sched.alphas_cumprod.to(dev)
    ck1 = os.path.join(args.run, "stage1.pt")
    ck_path = os.path.join(args.run, f"stage{args.stage}.pt")

    resuming = os.path.exists(ck_path) and not args.smoke
    if args.stage == 1:
        if resuming:
            ucfg = torch.load(ck_path, map_location="cpu")["unet_config"]
        elif init and args.widths is None and args.layers is None and args.res is None and \
                not args.attn_levels:  # the model it starts from, shape and all
            ucfg = json.load(open(os.path.join(init, "stage1", "unet", "config.json")))
        else:
            attn = [int(a) for a in args.attn_levels.split(",") if a] or None
            ucfg = configs.unet1_config(t5_cfg["d_model"],
                                        [int(w) for w in (args.widths or "16,32,64").split(",")],
                                        args.layers or 1, attn)
            ucfg["sample_size"] = args.res or 64
        unet = UNet(ucfg).to(dev)
        t5_init_(t5, t5_cfg)
        unet_init_(unet)
        if resuming:
            ck0 = torch.load(ck_path, map_location="cpu")
            if "t5" in ck0:  # a frozen-text run stays one
                t5.load_state_dict(ck0["t5"])
                args.freeze_text = True
            elif args.freeze_text:  # a joint run goes on with its (EMA) text encoder frozen
                t5.load_state_dict(ck0["ema"][0])
        if init and not resuming:
            load_exported(t5, os.path.join(init, "stage1", "text_encoder", "model.safetensors"))
            shipped = json.load(open(os.path.join(init, "stage1", "unet", "config.json")))
            if shipped == ucfg:
                load_exported(unet, os.path.join(init, "stage1", "unet",
                                                 "diffusion_pytorch_model.safetensors"))
                print(f"initialised from {init}", flush=True)
            else:
                print(f"text encoder from {init}; new U-Net shape, trained from scratch",
                      flush=True)
        if args.freeze_text:
            t5.eval().requires_grad_(False)
            train_mods = [unet]
            with torch.no_grad():
                emb_all = torch.cat([t5(ids[i:i + 64], mask[i:i + 64])
                                     for i in range(0, ids.shape[0], 64)])
        else:
            train_mods = [t5, unet]
        x64_all = to_float(im64)
        pool = max(1, x64_all.shape[-1] // ucfg["sample_size"])
        x_all = F.avg_pool2d(x64_all, pool) if pool > 1 else x64_all
    else:
        ucfg = configs.unet2_config(t5_cfg["d_model"])
        unet = UNet(ucfg).to(dev)
        unet_init_(unet)
        if init and not resuming:
            load_exported(unet, os.path.join(init, "stage2", "unet",
                                             "diffusion_pytorch_model.safetensors"))
        if os.path.exists(ck1):
            s1 = torch.load(ck1, map_location="cpu")
            t5.load_state_dict(s1["t5"] if "t5" in s1 else s1["ema"][0])
        elif init:
            load_exported(t5, os.path.join(init, "stage1", "text_encoder", "model.safetensors"))
        else:
            raise SystemExit(f"{ck1} missing: train stage 1 first")
        # frozen: the text encoder that ships
        t5.eval().requires_grad_(False)
        train_mods = [unet]
        im256 = np.load(os.path.join(args.data, "emoji256.npz"))["images"]
        if args.smoke:
            im256 = im256[:8]
        lo_all = to_float(im64)
        lo_res = args.lo_res
        if lo_res is None:  # stage I's own size
            s1cfg = s1["unet_config"] if os.path.exists(ck1) else json.load(
                open(os.path.join(init, "stage1", "unet", "config.json")))
            lo_res = s1cfg["sample_size"]
        if lo_res < lo_all.shape[-1]:  # stage I's size: the 64 px images area-averaged
            lo_all = F.avg_pool2d(lo_all, lo_all.shape[-1] // lo_res)
        with torch.no_grad():  # T5 states of every caption, once (the encoder is frozen)
            emb_all = torch.cat([t5(ids[i:i + 64], mask[i:i + 64])
                                 for i in range(0, ids.shape[0], 64)])

    params = [p for m in train_mods for p in m.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0, betas=(0.9, 0.99))
    ema = EMA(train_mods, args.ema)
    step, seconds = 0, 0.0
    warm_from = 0  # a fresh optimizer warms up from here
    if resuming:
        ck = torch.load(ck_path, map_location="cpu")
        drop = len(ck["model"]) - len(train_mods)  # 1 when a joint run's text is now frozen
        for m, sd in zip(train_mods, ck["model"][drop:]):
            m.load_state_dict(sd)
        ema.shadow = ck["ema"][drop:]
        step, seconds = ck["step"], ck.get("seconds", 0.0)
        if drop:
            print("text encoder frozen from here on; new optimizer state", flush=True)
            warm_from = step
        else:
            opt.load_state_dict(ck["opt"])
        print(f"resumed {ck_path} at step {step} ({seconds / 60:.1f} min trained)", flush=True)
    n_params = sum(p.numel() for m in train_mods for p in m.parameters())
    print(f"stage {args.stage}: {len(items)} images, {len(captions)} captions, "
          f"{n_params / 1e6:.2f}M trained params, vocab {len(tok)}", flush=True)

    def checkpoint():
        extra = {"t5": t5.state_dict()} if args.stage == 1 and args.freeze_text else {}
        save_ckpt(ck_path, {**extra, "model": [m.state_dict() for m in train_mods],
                            "ema": ema.shadow,
                            "opt": opt.state_dict(), "step": step,
                            "seconds": seconds + time.time() - t_run, "t5_config": t5_cfg,
                            "unet_config": ucfg, "args": vars(args)})

    t_run = time.time()
    last_ck = last_eval = time.time()
    acc, acc_mse, acc_vlb, acc_n, t_log = 0.0, 0.0, 0.0, 0, time.time()
    log = open(os.path.join(args.run, f"stage{args.stage}.log"), "a")
    N = len(items)
    while True:
        if time.time() - t_start > args.minutes * 60:
            break
        if args.max_steps and step >= args.max_steps:
            break
        for g in opt.param_groups:
            g["lr"] = args.lr * min(1.0, (step - warm_from + 1) / args.warmup)
        idx = rng.integers(0, N, args.batch)
        cap = np.array([rng.choice(cap_index[i]) for i in idx])
        cap[rng.random(args.batch) < args.cfg_drop] = empty
        cap_t = torch.from_numpy(cap).to(dev)
        t = torch.randint(0, 1000, (args.batch,), device=dev)
        if args.stage == 1:
            x0 = x_all[idx].to(dev)
            placed = rng.random(args.batch) < args.place
            if placed.any():  # placed at 64 px, then brought to stage I's size
                moved = augment.place(x64_all[idx[placed]],
                                      augment.placement(int(placed.sum()), rng))
                x0[torch.from_numpy(placed).to(dev)] = (
                    F.avg_pool2d(moved, pool) if pool > 1 else moved).to(dev)
            emb = emb_all[cap_t] if args.freeze_text else t5(ids[cap_t], mask[cap_t])
            noise = torch.randn_like(x0)
            xt = sched.add_noise(x0, noise, t)
            out = unet(xt, t, emb)
        else:
            c = args.crop
            hi = to_float(im256[idx]).to(dev)
            lo = lo_all[idx]
            placed = rng.random(args.batch) < args.place
            if placed.any():  # the image and stage I's view of it placed alike
                k, sel = int(placed.sum()), torch.from_numpy(placed)
                p = augment.placement(k, rng)
                hi[sel.to(dev)] = augment.place(hi[sel].cpu(), p).to(dev)
                lo64 = augment.place(to_float(im64[idx[placed]]), p)
                lo = lo.clone()
                lo[sel] = F.avg_pool2d(lo64, 64 // lo.shape[-1]) if lo.shape[-1] < 64 else lo64
            up = F.interpolate(lo.to(dev), (256, 256), mode="bilinear",
                               align_corners=True)
            s = torch.randint(0, args.aug_max, (args.batch,), device=dev)
            up = sched.add_noise(up, torch.randn_like(up), s)
            ys = rng.integers(0, 256 - c + 1, args.batch)
            xs = rng.integers(0, 256 - c + 1, args.batch)
            x0 = torch.stack([hi[i, :, y:y + c, x:x + c] for i, (y, x) in enumerate(zip(ys, xs))])
            upc = torch.stack([up[i, :, y:y + c, x:x + c]
                               for i, (y, x) in enumerate(zip(ys, xs))])
            emb = emb_all[cap_t]
            noise = torch.randn_like(x0)
            xt = sched.add_noise(x0, noise, t)
            out = unet(torch.cat([xt, upc], dim=1), t, emb, class_labels=s)
        w = (min_snr_weights(sched, t, args.snr_gamma) if args.loss_weight == "min-snr" else
             trunc_snr_weights(sched, t, args.snr_gamma, args.max_weight)
             if args.loss_weight == "trunc-snr" else None)
        loss, mse, vlb = hybrid_loss(sched, out, x0, xt, noise, t, args.vlb_weight, w)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        ema.update(train_mods, step)
        acc, acc_mse, acc_vlb, acc_n = acc + loss.item(), acc_mse + mse.item(), \
            acc_vlb + vlb.item(), acc_n + 1
        if step % 25 == 0 or args.smoke:
            dt = time.time() - t_log
            msg = (f"step {step} loss {acc / acc_n:.4f} mse {acc_mse / acc_n:.4f} "
                   f"vlb {acc_vlb / acc_n:.4f} {acc_n * args.batch / dt:.1f} img/s "
                   f"trained {(seconds + time.time() - t_run) / 60:.1f} min")
            print(msg, flush=True)
            log.write(msg + "\n")
            log.flush()
            acc, acc_mse, acc_vlb, acc_n, t_log = 0.0, 0.0, 0.0, 0, time.time()
        if (args.eval_minutes and args.stage == 1
                and time.time() - last_eval > args.eval_minutes * 60):
            t_eval = time.time()
            ema_t5, ema_unet = quick_eval.ema_modules(t5, unet, ema.shadow, args.freeze_text)
            r = quick_eval.fidelity(ema_t5, ema_unet, tok, items, im64, args.eval_n,
                                    args.eval_steps, size=ucfg["sample_size"])
            trained = seconds + t_eval - t_run
            rec = {"step": step, "samples": step * args.batch, "minutes": trained / 60, **r,
                   "shape": ucfg["block_out_channels"], "lr": args.lr, "batch": args.batch,
                   "loss_weight": args.loss_weight}
            with open(os.path.join(args.run, f"curve{args.stage}.jsonl"), "a") as f:
                f.write(json.dumps(rec) + "\n")
            print(f"eval: {rec}", flush=True)
            t_run += time.time() - t_eval  # evaluation time is not training time
            t_start += time.time() - t_eval
            last_eval = last_ck = time.time()
        if time.time() - last_ck > args.ckpt_minutes * 60:
            checkpoint()
            last_ck = time.time()
        if not math.isfinite(loss.item()):
            raise SystemExit("loss is not finite")
    checkpoint()
    print(f"done: step {step}, {(seconds + time.time() - t_run) / 60:.1f} min trained",
          flush=True)


if __name__ == "__main__":
    main()
