"""Noise schedule, training losses and a DDPM sampler that follow diffusers' DDPMScheduler
as DeepFloyd IF configures it (squaredcos_cap_v2 betas, epsilon prediction, learned_range
variance, dynamic thresholding, "leading" timestep spacing), and the IF pipelines'
classifier-free guidance and stage II noise augmentation."""
import math

import torch
import torch.nn.functional as F

T = 1000


def betas_squaredcos_cap_v2(n=T, max_beta=0.999):
    def ab(t):
        return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2
    return torch.tensor([min(1 - ab((i + 1) / n) / ab(i / n), max_beta) for i in range(n)],
                        dtype=torch.float32)


class Schedule:
    def __init__(self):
        self.betas = betas_squaredcos_cap_v2()
        self.alphas_cumprod = torch.cumprod(1.0 - self.betas, dim=0)

    def add_noise(self, x0, noise, t):
        """DDPMScheduler.add_noise. x0, noise: (B, C, H, W); t: (B,) int64."""
        a = self.alphas_cumprod.to(x0.device)[t].view(-1, 1, 1, 1)
        return a.sqrt() * x0 + (1 - a).sqrt() * noise


def min_snr_weights(sched, t, gamma):
    """Min-SNR-gamma loss weights for epsilon prediction (Hang et al. 2023): min(SNR, gamma)
    / SNR, so the nearly clean timesteps, which only refine detail, stop dominating the
    gradient and the noisy ones, where the picture's content is decided, train faster."""
    a = sched.alphas_cumprod.to(t.device)[t]
    snr = a / (1 - a)
    return torch.clamp(snr, max=gamma) / snr


def trunc_snr_weights(sched, t, gamma, max_weight):
    """Min-SNR-gamma for the nearly clean timesteps and, for the noisy ones (SNR < 1), the
    x0-space weight of truncated-SNR weighting (Salimans & Ho 2022: max(SNR, 1)), i.e. 1/SNR
    on the epsilon loss, capped at max_weight. Epsilon MSE alone gives the noisy timesteps,
    where the prompt decides what is drawn, almost no weight: there the epsilon error is the
    x0 error times sqrt(SNR), so a model that ignores the prompt loses almost nothing."""
    a = sched.alphas_cumprod.to(t.device)[t]
    snr = a / (1 - a)
    return torch.where(snr < 1, torch.clamp(1 / snr, max=max_weight),
                       torch.clamp(snr, max=gamma) / snr)


def hybrid_loss(sched, model_out, x0, xt, noise, t, vlb_weight=1.0, weights=None):
    """MSE on epsilon + (optionally) the variational bound term for the learned-range
    variance channels with a stopped-gradient mean (improved DDPM's L_hybrid).
    model_out: (B, 2C, H, W); weights: optional (B,) weights of the MSE term per sample;
    returns (total, mse, vlb), mse unweighted (comparable between runs)."""
    C = x0.shape[1]
    eps, v = model_out[:, :C], model_out[:, C:]
    per = ((eps - noise) ** 2).mean(dim=(1, 2, 3))
    mse = per.mean()
    wmse = mse if weights is None else (weights * per).mean()
    if vlb_weight <= 0:
        return wmse, mse, torch.zeros(())
    ac = sched.alphas_cumprod.to(x0.device)
    a_t = ac[t].view(-1, 1, 1, 1)
    a_prev = torch.where(t > 0, ac[(t - 1).clamp(min=0)], torch.ones_like(t, dtype=ac.dtype))
    a_prev = a_prev.view(-1, 1, 1, 1)
    beta = 1 - a_t / a_prev
    post_var = (1 - a_prev) / (1 - a_t) * beta
    # posterior mean from the true x0 and from the model's (detached) epsilon
    c0 = a_prev.sqrt() * beta / (1 - a_t)
    ct = (1 - beta).sqrt() * (1 - a_prev) / (1 - a_t)
    mu_q = c0 * x0 + ct * xt
    x0_hat = ((xt - (1 - a_t).sqrt() * eps.detach()) / a_t.sqrt()).clamp(-1, 1)
    mu_p = c0 * x0_hat + ct * xt
    min_log = torch.log(post_var.clamp(min=1e-20))
    max_log = torch.log(beta)
    frac = (v + 1) / 2
    logvar_p = frac * max_log + (1 - frac) * min_log
    logvar_q = min_log
    kl = 0.5 * (-1.0 + logvar_p - logvar_q + torch.exp(logvar_q - logvar_p)
                + (mu_q - mu_p) ** 2 * torch.exp(-logvar_p))
    kl = kl.mean(dim=(1, 2, 3)) / math.log(2.0)
    kl = torch.where(t > 0, kl, torch.zeros_like(kl)).mean()
    return wmse + vlb_weight * kl, mse, kl


def leading_timesteps(n):
    """DDPMScheduler.set_timesteps with timestep_spacing 'leading', steps_offset 0."""
    ratio = T // n
    return [i * ratio for i in range(n)][::-1]


def dynamic_threshold(x0, ratio, max_value):
    B = x0.shape[0]
    s = torch.quantile(x0.abs().reshape(B, -1).float(), ratio, dim=1)
    s = s.clamp(min=1.0, max=max_value).view(B, 1, 1, 1)
    return x0.clamp(-s, s) / s


def randn(shape, generator):
    """N(0, 1) of shape from one generator, or, given a list of generators, row b from
    generator b: a batch then draws exactly what its rows would draw one by one."""
    if isinstance(generator, (list, tuple)):
        return torch.cat([torch.randn((1,) + tuple(shape[1:]), generator=g) for g in generator])
    return torch.randn(shape, generator=generator)


def ddpm_step(sched, model_out, t, prev_t, x, generator, ratio=0.95, max_value=1.5):
    """DDPMScheduler.step (epsilon, learned_range, thresholding=True)."""
    C = x.shape[1]
    eps, v = model_out[:, :C], model_out[:, C:]
    ac = sched.alphas_cumprod
    a_t = ac[t]
    a_prev = ac[prev_t] if prev_t >= 0 else torch.tensor(1.0)
    b_t, b_prev = 1 - a_t, 1 - a_prev
    cur_a = a_t / a_prev
    cur_b = 1 - cur_a
    x0 = (x - b_t.sqrt() * eps) / a_t.sqrt()
    x0 = dynamic_threshold(x0, ratio, max_value)
    mean = (a_prev.sqrt() * cur_b / b_t) * x0 + (cur_a.sqrt() * b_prev / b_t) * x
    if t > 0:
        var = (b_prev / b_t * cur_b).clamp(min=1e-20)
        frac = (v + 1) / 2
        logvar = frac * torch.log(cur_b) + (1 - frac) * torch.log(var)
        noise = randn(x.shape, generator)
        mean = mean + torch.exp(0.5 * logvar) * noise
    return mean, x0


@torch.no_grad()
def sample_stage1(unet, emb, neg_emb, steps=30, guidance=7.0, seed=0, size=64, noise=None):
    """IFPipeline stage I loop. emb, neg_emb: (B, L, D) T5 states -> images (B,3,size,size)
    in [-1, 1]. noise: optional initial x_T; else drawn from torch.Generator(seed), or, when
    seed is a list of B seeds, row b from its own generator (the same image as a batch of
    one with that seed). neg_emb: (1 or B, L, D)."""
    sched = Schedule()
    B = emb.shape[0]
    if isinstance(seed, (list, tuple)):
        g = [torch.Generator().manual_seed(s) for s in seed]
    else:
        g = torch.Generator().manual_seed(seed)
    x = noise if noise is not None else randn((B, 3, size, size), g)
    ts = leading_timesteps(steps)
    if neg_emb.shape[0] != B:
        neg_emb = neg_emb.expand(B, -1, -1)
    ctx = torch.cat([neg_emb, emb]) if guidance > 1 else emb
    for i, t in enumerate(ts):
        prev_t = ts[i + 1] if i + 1 < len(ts) else -1
        inp = torch.cat([x, x]) if guidance > 1 else x
        out = unet(inp, torch.full((inp.shape[0],), t, dtype=torch.long), ctx)
        if guidance > 1:
            u, c = out.chunk(2)
            e = u[:, :3] + guidance * (c[:, :3] - u[:, :3])
            out = torch.cat([e, c[:, 3:]], dim=1)
        x, _ = ddpm_step(sched, out, t, prev_t, x, g, max_value=1.5)
    return x


@torch.no_grad()
def sample_stage2(unet, low, emb, neg_emb, steps=15, guidance=1.0, noise_level=250, seed=0,
                  size=256, strength=1.0):
    """IFSuperResolutionPipeline loop. low: (B,3,h,w) in [-1,1] -> (B,3,size,size).
    strength < 1: IFImg2ImgSuperResolutionPipeline with low enlarged as the original image:
    the loop starts from it re-noised to the first of the last steps*strength timesteps."""
    sched = Schedule()
    g = torch.Generator().manual_seed(seed)
    B = low.shape[0]
    x = torch.randn((B, 3, size, size), generator=g)
    up = F.interpolate(low, (size, size), mode="bilinear", align_corners=True)
    ts = leading_timesteps(steps)
    if strength < 1:
        ts = ts[steps - min(int(steps * strength), steps):]
        x = sched.add_noise(up, x, torch.full((B,), ts[0], dtype=torch.long))
    aug_noise = torch.randn(up.shape, generator=g)
    up = sched.add_noise(up, aug_noise, torch.full((B,), noise_level, dtype=torch.long))
    cfg = guidance > 1
    ctx = torch.cat([neg_emb, emb]) if cfg else emb
    lvl = torch.full((ctx.shape[0],), noise_level, dtype=torch.long)
    for i, t in enumerate(ts):
        prev_t = ts[i + 1] if i + 1 < len(ts) else -1
        inp = torch.cat([x, up], dim=1)
        if cfg:
            inp = torch.cat([inp, inp])
        out = unet(inp, torch.full((inp.shape[0],), t, dtype=torch.long), ctx, class_labels=lvl)
        if cfg:
            u, c = out.chunk(2)
            e = u[:, :3] + guidance * (c[:, :3] - u[:, :3])
            out = torch.cat([e, c[:, 3:]], dim=1)
        x, _ = ddpm_step(sched, out, t, prev_t, x, g, max_value=1.0)
    return x
