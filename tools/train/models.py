"""Our own PyTorch modules that mirror the reference classes parameter-for-parameter.

- T5Encoder mirrors transformers.T5EncoderModel (T5 v1.1: gated-gelu FFN, RMS layer norm,
  relative position bias in block 0, no attention scaling), state_dict names as
  `save_pretrained` writes them (`shared.weight`, `encoder.block.{i}...`).
- UNet mirrors diffusers.UNet2DConditionModel for the feature set DeepFloyd IF uses:
  ResnetDownsampleBlock2D / SimpleCrossAttnDownBlock2D / UNetMidBlock2DSimpleCrossAttn /
  SimpleCrossAttnUpBlock2D / ResnetUpsampleBlock2D, scale-shift resnets, text_proj of the
  encoder states, TextTimeEmbedding ("text" addition embedding), optional class embedding of
  type "timestep", AttnAddedKVProcessor attention. Anything else in a config is refused.

Both are checked against ../shared/golden (tools/train/check_golden.py).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

# --------------------------------------------------------------------------- T5 encoder


class T5LayerNorm(nn.Module):
    """transformers T5LayerNorm: RMS norm, weight only, statistics in fp32."""

    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.variance_epsilon = eps

    def forward(self, x):
        var = x.float().pow(2).mean(-1, keepdim=True)
        x = x * torch.rsqrt(var + self.variance_epsilon)
        return self.weight * x.to(self.weight.dtype)


class T5Attention(nn.Module):
    """T5Attention (encoder self-attention). No 1/sqrt(d) scaling: T5 folds it into init."""

    def __init__(self, cfg, has_bias):
        super().__init__()
        self.h, self.dk = cfg["num_heads"], cfg["d_kv"]
        inner, d = self.h * self.dk, cfg["d_model"]
        self.q = nn.Linear(d, inner, bias=False)
        self.k = nn.Linear(d, inner, bias=False)
        self.v = nn.Linear(d, inner, bias=False)
        self.o = nn.Linear(inner, d, bias=False)
        self.num_buckets = cfg["relative_attention_num_buckets"]
        self.max_distance = cfg["relative_attention_max_distance"]
        if has_bias:
            self.relative_attention_bias = nn.Embedding(self.num_buckets, self.h)

    def bucket(self, rel):
        """Bidirectional bucket of relative position rel = key - query: (q, k) int64."""
        nb = self.num_buckets // 2
        out = (rel > 0).long() * nb
        rel = rel.abs()
        max_exact = nb // 2
        small = rel < max_exact
        large = max_exact + (torch.log(rel.float() / max_exact) /
                             math.log(self.max_distance / max_exact) * (nb - max_exact)).long()
        large = torch.min(large, torch.full_like(large, nb - 1))
        return out + torch.where(small, rel, large)

    def position_bias(self, n, device):
        pos = torch.arange(n, dtype=torch.long, device=device)
        rel = pos[None, :] - pos[:, None]  # (q, k)
        b = self.relative_attention_bias(self.bucket(rel))  # (q, k, h)
        return b.permute(2, 0, 1)[None]  # (1, h, q, k)

    def forward(self, x, bias):
        # x: (B, L, d); bias: (B or 1, h, L, L) position bias + mask
        B, L, _ = x.shape

        def split(t):
            return t.view(B, L, self.h, self.dk).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        scores = q @ k.transpose(-1, -2) + bias
        w = F.softmax(scores.float(), dim=-1).type_as(scores)
        a = (w @ v).transpose(1, 2).reshape(B, L, self.h * self.dk)
        return self.o(a)


class _Layer0(nn.Module):
    def __init__(self, cfg, has_bias):
        super().__init__()
        self.SelfAttention = T5Attention(cfg, has_bias)
        self.layer_norm = T5LayerNorm(cfg["d_model"], cfg["layer_norm_epsilon"])


class _DenseGatedActDense(nn.Module):
    """T5DenseGatedActDense with gelu_new (tanh approximation)."""

    def __init__(self, cfg):
        super().__init__()
        d, ff = cfg["d_model"], cfg["d_ff"]
        self.wi_0 = nn.Linear(d, ff, bias=False)
        self.wi_1 = nn.Linear(d, ff, bias=False)
        self.wo = nn.Linear(ff, d, bias=False)

    def forward(self, x):
        return self.wo(F.gelu(self.wi_0(x), approximate="tanh") * self.wi_1(x))


class _Layer1(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.DenseReluDense = _DenseGatedActDense(cfg)
        self.layer_norm = T5LayerNorm(cfg["d_model"], cfg["layer_norm_epsilon"])


class T5Block(nn.Module):
    def __init__(self, cfg, has_bias):
        super().__init__()
        self.layer = nn.ModuleList([_Layer0(cfg, has_bias), _Layer1(cfg)])

    def forward(self, x, bias):
        l0, l1 = self.layer
        x = x + l0.SelfAttention(l0.layer_norm(x), bias)
        x = x + l1.DenseReluDense(l1.layer_norm(x))
        return x


class _T5Stack(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.block = nn.ModuleList([T5Block(cfg, i == 0) for i in range(cfg["num_layers"])])
        self.final_layer_norm = T5LayerNorm(cfg["d_model"], cfg["layer_norm_epsilon"])


class T5Encoder(nn.Module):
    """transformers.T5EncoderModel. forward(input_ids (B,L) int64, attention_mask (B,L))
    -> last_hidden_state (B, L, d_model)."""

    SUPPORTED = {"feed_forward_proj": "gated-gelu", "model_type": "t5"}

    def __init__(self, cfg):
        super().__init__()
        for k, v in self.SUPPORTED.items():
            if cfg.get(k) != v:
                raise ValueError(f"T5 config: {k}={cfg.get(k)!r} unsupported (need {v!r})")
        self.cfg = cfg
        self.shared = nn.Embedding(cfg["vocab_size"], cfg["d_model"])
        self.encoder = _T5Stack(cfg)

    def forward(self, input_ids, attention_mask=None, return_all=False):
        x = self.shared(input_ids)
        B, L = input_ids.shape
        bias = self.encoder.block[0].layer[0].SelfAttention.position_bias(L, x.device)
        if attention_mask is not None:
            m = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
            bias = bias + m
        hs = []
        for blk in self.encoder.block:
            x = blk(x, bias)
            hs.append(x)
        x = self.encoder.final_layer_norm(x)
        return (x, hs) if return_all else x


# --------------------------------------------------------------------------- U-Net parts


def timestep_embedding(t, dim, flip_sin_to_cos=True, shift=0.0, max_period=10000):
    """diffusers get_timestep_embedding: t (B,) -> (B, dim) fp32."""
    half = dim // 2
    exponent = -math.log(max_period) * torch.arange(half, dtype=torch.float32,
                                                    device=t.device) / (half - shift)
    emb = t[:, None].float() * torch.exp(exponent)[None, :]
    emb = torch.cat([torch.sin(emb), torch.cos(emb)], dim=-1)
    if flip_sin_to_cos:
        emb = torch.cat([emb[:, half:], emb[:, :half]], dim=-1)
    if dim % 2 == 1:
        emb = F.pad(emb, (0, 1))
    return emb


def activation(name):
    if name == "gelu":
        return nn.GELU()
    if name == "silu":
        return nn.SiLU()
    raise ValueError(f"activation {name!r} unsupported")


class TimestepEmbedding(nn.Module):
    """diffusers TimestepEmbedding: linear_1, act, linear_2."""

    def __init__(self, cin, dim, act):
        super().__init__()
        self.linear_1 = nn.Linear(cin, dim)
        self.act = activation(act)
        self.linear_2 = nn.Linear(dim, dim)

    def forward(self, x):
        return self.linear_2(self.act(self.linear_1(x)))


class AttentionPooling(nn.Module):
    """diffusers AttentionPooling (a CLIP-style pooled token over the text states; no mask)."""

    def __init__(self, heads, dim):
        super().__init__()
        self.positional_embedding = nn.Parameter(torch.randn(1, dim) / dim ** 0.5)
        self.k_proj = nn.Linear(dim, dim)
        self.q_proj = nn.Linear(dim, dim)
        self.v_proj = nn.Linear(dim, dim)
        self.num_heads, self.dph = heads, dim // heads

    def forward(self, x):
        # x: (B, L, D) -> (B, D)
        B = x.shape[0]

        def shape(t):  # (B, l, D) -> (B*h, dph, l)
            t = t.view(B, -1, self.num_heads, self.dph).transpose(1, 2)
            return t.reshape(B * self.num_heads, -1, self.dph).transpose(1, 2)

        cls = x.mean(dim=1, keepdim=True) + self.positional_embedding.to(x.dtype)
        x = torch.cat([cls, x], dim=1)
        q, k, v = shape(self.q_proj(cls)), shape(self.k_proj(x)), shape(self.v_proj(x))
        scale = 1 / math.sqrt(math.sqrt(self.dph))
        w = torch.einsum("bct,bcs->bts", q * scale, k * scale)
        w = torch.softmax(w.float(), dim=-1).type(w.dtype)
        a = torch.einsum("bts,bcs->bct", w, v)
        return a.reshape(B, -1, 1).transpose(1, 2)[:, 0, :]


class TextTimeEmbedding(nn.Module):
    """diffusers TextTimeEmbedding: norm1, pool, proj, norm2."""

    def __init__(self, enc_dim, time_dim, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(enc_dim)
        self.pool = AttentionPooling(heads, enc_dim)
        self.proj = nn.Linear(enc_dim, time_dim)
        self.norm2 = nn.LayerNorm(time_dim)

    def forward(self, x):
        return self.norm2(self.proj(self.pool(self.norm1(x))))


class ResnetBlock2D(nn.Module):
    """diffusers ResnetBlock2D (pre-norm; time_embedding_norm default|scale_shift;
    up = nearest x2, down = avg-pool /2, both applied to input and hidden before conv1)."""

    def __init__(self, cin, cout, temb, groups, eps, act, scale_shift, out_scale,
                 skip_time_act, up=False, down=False):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=eps)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb, cout * 2 if scale_shift else cout)
        self.norm2 = nn.GroupNorm(groups, cout, eps=eps)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        if cin != cout:
            self.conv_shortcut = nn.Conv2d(cin, cout, 1)
        else:
            self.conv_shortcut = None
        self.act = activation(act)
        self.scale_shift, self.out_scale, self.skip_time_act = scale_shift, out_scale, skip_time_act
        self.up, self.down = up, down

    def forward(self, x, temb):
        h = self.act(self.norm1(x))
        if self.up:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
            h = F.interpolate(h, scale_factor=2.0, mode="nearest")
        elif self.down:
            x = F.avg_pool2d(x, 2, 2)
            h = F.avg_pool2d(h, 2, 2)
        h = self.conv1(h)
        t = temb if self.skip_time_act else self.act(temb)
        t = self.time_emb_proj(t)[:, :, None, None]
        if self.scale_shift:
            scale, shift = t.chunk(2, dim=1)
            h = self.norm2(h) * (1 + scale) + shift
        else:
            h = self.norm2(h + t)
        h = self.conv2(self.act(h))
        if self.conv_shortcut is not None:
            x = self.conv_shortcut(x)
        return (x + h) / self.out_scale


class AddedKVAttention(nn.Module):
    """diffusers Attention with AttnAddedKVProcessor (SimpleCrossAttn blocks):
    q from GroupNorm'd pixels; k/v = [add_k/add_v(norm_cross(text)), to_k/to_v(pixels)]
    (the latter unless only_cross_attention); fp32 softmax; residual added; scale dh^-0.5.
    norm_cross is GroupNorm(32 groups) over the text channels (diffusers' default
    cross_attention_norm_num_groups, which the SimpleCrossAttn blocks do not override)."""

    def __init__(self, dim, heads, dim_head, added_kv_dim, groups, only_cross, cross_norm):
        super().__init__()
        inner = heads * dim_head
        self.heads, self.scale = heads, dim_head ** -0.5
        self.group_norm = nn.GroupNorm(groups, dim, eps=1e-5)
        if cross_norm == "group_norm":
            self.norm_cross = nn.GroupNorm(32, added_kv_dim, eps=1e-5)
        elif cross_norm is None:
            self.norm_cross = None
        else:
            raise ValueError(f"cross_attention_norm {cross_norm!r} unsupported")
        self.to_q = nn.Linear(dim, inner)
        self.only_cross = only_cross
        if not only_cross:
            self.to_k = nn.Linear(dim, inner)
            self.to_v = nn.Linear(dim, inner)
        self.add_k_proj = nn.Linear(added_kv_dim, inner)
        self.add_v_proj = nn.Linear(added_kv_dim, inner)
        self.to_out = nn.ModuleList([nn.Linear(inner, dim), nn.Dropout(0.0)])

    def forward(self, x, ctx, ctx_bias=None):
        # x: (B, C, H, W); ctx: (B, L, Dc); ctx_bias: (B, 1, L) additive or None
        B, C, H, W = x.shape
        res = x
        h = x.view(B, C, H * W).transpose(1, 2)
        if self.norm_cross is not None:
            ctx = self.norm_cross(ctx.transpose(1, 2)).transpose(1, 2)
        h = self.group_norm(h.transpose(1, 2)).transpose(1, 2)

        def heads(t):  # (B, n, inner) -> (B, h, n, dh)
            return t.view(B, t.shape[1], self.heads, -1).transpose(1, 2)

        q = heads(self.to_q(h))
        k, v = heads(self.add_k_proj(ctx)), heads(self.add_v_proj(ctx))
        if not self.only_cross:
            k = torch.cat([k, heads(self.to_k(h))], dim=2)
            v = torch.cat([v, heads(self.to_v(h))], dim=2)
        s = (q @ k.transpose(-1, -2)).float() * self.scale
        if ctx_bias is not None:
            L = ctx.shape[1]
            pad = torch.zeros(B, 1, k.shape[2] - L, dtype=s.dtype, device=s.device)
            s = s + torch.cat([ctx_bias.to(s.dtype), pad], dim=-1)[:, None]
        w = s.softmax(dim=-1).to(q.dtype)
        o = (w @ v).transpose(1, 2).reshape(B, H * W, -1)
        o = self.to_out[0](o)
        return o.transpose(1, 2).reshape(B, C, H, W) + res


class DownBlock(nn.Module):
    """ResnetDownsampleBlock2D (attn=False) or SimpleCrossAttnDownBlock2D (attn=True)."""

    def __init__(self, cin, cout, n, attn, add_down, rk, ak):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(cin if i == 0 else cout, cout, **rk)
                                      for i in range(n)])
        self.attentions = nn.ModuleList([AddedKVAttention(cout, **ak) for _ in range(n)]) \
            if attn else None
        self.downsamplers = nn.ModuleList([ResnetBlock2D(cout, cout, down=True, **rk)]) \
            if add_down else None

    def forward(self, h, temb, ctx, ctx_bias):
        outs = []
        for i, r in enumerate(self.resnets):
            h = r(h, temb)
            if self.attentions is not None:
                h = self.attentions[i](h, ctx, ctx_bias)
            outs.append(h)
        if self.downsamplers is not None:
            h = self.downsamplers[0](h, temb)
            outs.append(h)
        return h, outs


class UpBlock(nn.Module):
    """ResnetUpsampleBlock2D (attn=False) or SimpleCrossAttnUpBlock2D (attn=True)."""

    def __init__(self, cin, prev, cout, n, attn, add_up, rk, ak):
        super().__init__()
        rs = []
        for i in range(n):
            skip = cin if i == n - 1 else cout
            rin = prev if i == 0 else cout
            rs.append(ResnetBlock2D(rin + skip, cout, **rk))
        self.resnets = nn.ModuleList(rs)
        self.attentions = nn.ModuleList([AddedKVAttention(cout, **ak) for _ in range(n)]) \
            if attn else None
        self.upsamplers = nn.ModuleList([ResnetBlock2D(cout, cout, up=True, **rk)]) \
            if add_up else None

    def forward(self, h, skips, temb, ctx, ctx_bias):
        for i, r in enumerate(self.resnets):
            h = r(torch.cat([h, skips.pop()], dim=1), temb)
            if self.attentions is not None:
                h = self.attentions[i](h, ctx, ctx_bias)
        if self.upsamplers is not None:
            h = self.upsamplers[0](h, temb)
        return h


class MidBlock(nn.Module):
    """UNetMidBlock2DSimpleCrossAttn (one attention layer)."""

    def __init__(self, c, rk, ak):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(c, c, **rk), ResnetBlock2D(c, c, **rk)])
        self.attentions = nn.ModuleList([AddedKVAttention(c, **ak)])

    def forward(self, h, temb, ctx, ctx_bias):
        h = self.resnets[0](h, temb)
        h = self.attentions[0](h, ctx, ctx_bias)
        return self.resnets[1](h, temb)


# Config fields and the only values this implementation (and the C engine) accepts.
UNET_FIXED = {
    "_class_name": "UNet2DConditionModel", "addition_embed_type": "text",
    "addition_time_embed_dim": None, "attention_type": "default", "center_input_sample": False,
    "class_embeddings_concat": False, "conv_in_kernel": 3, "conv_out_kernel": 3,
    "downsample_padding": 1, "dropout": 0.0, "dual_cross_attention": False,
    "encoder_hid_dim_type": "text_proj", "num_attention_heads": None, "num_class_embeds": None,
    "projection_class_embeddings_input_dim": None, "time_cond_proj_dim": None,
    "time_embedding_type": "positional", "timestep_post_act": None,
    "transformer_layers_per_block": 1, "upcast_attention": False,
    "use_linear_projection": False, "mid_block_type": "UNetMidBlock2DSimpleCrossAttn",
    "reverse_transformer_layers_per_block": None, "mid_block_only_cross_attention": None,
}


class UNet(nn.Module):
    """diffusers.UNet2DConditionModel (IF feature set).
    forward(sample (B,Cin,H,W), timestep (B,) int64, encoder_hidden_states (B,L,enc_dim),
            class_labels (B,) int64 or None, encoder_attention_mask (B,L) or None)
    -> (B, out_channels, H, W)."""

    def __init__(self, cfg):
        super().__init__()
        for k, v in UNET_FIXED.items():
            if k in cfg and cfg[k] != v:
                raise ValueError(f"unet config: {k}={cfg[k]!r} unsupported (need {v!r})")
        self.cfg = cfg
        bc = cfg["block_out_channels"]
        nb = len(bc)
        lpb = cfg["layers_per_block"]
        lpb = [lpb] * nb if isinstance(lpb, int) else list(lpb)
        ahd = cfg["attention_head_dim"]
        ahd = [ahd] * nb if isinstance(ahd, int) else list(ahd)
        oca = cfg["only_cross_attention"]
        oca = [oca] * nb if isinstance(oca, bool) else list(oca)
        mid_oca = cfg.get("mid_block_only_cross_attention")
        if mid_oca is None:
            mid_oca = cfg["only_cross_attention"] if isinstance(cfg["only_cross_attention"],
                                                                  bool) else False
        act = cfg["act_fn"]
        self.flip, self.shift = cfg["flip_sin_to_cos"], float(cfg["freq_shift"])
        tdim = cfg.get("time_embedding_dim") or bc[0] * 4
        self.t_in = bc[0]
        self.conv_in = nn.Conv2d(cfg["in_channels"], bc[0], 3, padding=1)
        self.time_embedding = TimestepEmbedding(bc[0], tdim, act)
        cet = cfg.get("class_embed_type")
        if cet == "timestep":
            self.class_embedding = TimestepEmbedding(bc[0], tdim, act)
        elif cet is None:
            self.class_embedding = None
        else:
            raise ValueError(f"unet config: class_embed_type={cet!r} unsupported")
        enc, cad = cfg["encoder_hid_dim"], cfg["cross_attention_dim"]
        self.encoder_hid_proj = nn.Linear(enc, cad)
        self.add_embedding = TextTimeEmbedding(enc, tdim, cfg["addition_embed_type_num_heads"])
        tea = cfg.get("time_embedding_act_fn")
        self.time_embed_act = activation(tea) if tea else None
        groups, eps = cfg["norm_num_groups"], cfg["norm_eps"]
        sst = cfg["resnet_time_scale_shift"]
        if sst not in ("default", "scale_shift"):
            raise ValueError(f"unet config: resnet_time_scale_shift={sst!r} unsupported")

        def rk(scale):
            return dict(temb=tdim, groups=groups, eps=eps, act=act,
                        scale_shift=sst == "scale_shift", out_scale=scale,
                        skip_time_act=cfg["resnet_skip_time_act"])

        def ak(c, i, only):
            return dict(heads=c // ahd[i], dim_head=ahd[i], added_kv_dim=cad, groups=groups,
                        only_cross=only, cross_norm=cfg["cross_attention_norm"])

        ros = cfg["resnet_out_scale_factor"]
        self.down_blocks = nn.ModuleList()
        cout = bc[0]
        for i, t in enumerate(cfg["down_block_types"]):
            cin, cout = cout, bc[i]
            attn = {"ResnetDownsampleBlock2D": False, "SimpleCrossAttnDownBlock2D": True}.get(t)
            if attn is None:
                raise ValueError(f"unet config: down block {t!r} unsupported")
            self.down_blocks.append(DownBlock(cin, cout, lpb[i], attn, i != nb - 1, rk(ros),
                                              ak(cout, i, oca[i])))
        self.mid_block = MidBlock(bc[-1], rk(cfg["mid_block_scale_factor"]),
                                  ak(bc[-1], nb - 1, mid_oca))
        rbc, rl, ra, ro = bc[::-1], lpb[::-1], ahd[::-1], oca[::-1]
        self.up_blocks = nn.ModuleList()
        out = rbc[0]
        for i, t in enumerate(cfg["up_block_types"]):
            prev, out = out, rbc[i]
            cin = rbc[min(i + 1, nb - 1)]
            attn = {"ResnetUpsampleBlock2D": False, "SimpleCrossAttnUpBlock2D": True}.get(t)
            if attn is None:
                raise ValueError(f"unet config: up block {t!r} unsupported")
            a = dict(heads=out // ra[i], dim_head=ra[i], added_kv_dim=cad, groups=groups,
                     only_cross=ro[i], cross_norm=cfg["cross_attention_norm"])
            self.up_blocks.append(UpBlock(cin, prev, out, rl[i] + 1, attn, i != nb - 1,
                                          rk(ros), a))
        self.conv_norm_out = nn.GroupNorm(groups, bc[0], eps=eps)
        self.conv_act = activation(act)
        self.conv_out = nn.Conv2d(bc[0], cfg["out_channels"], 3, padding=1)

    def forward(self, sample, timestep, encoder_hidden_states, class_labels=None,
                encoder_attention_mask=None, hooks=None):
        B = sample.shape[0]
        t = timestep if torch.is_tensor(timestep) else torch.tensor([timestep])
        t = t.reshape(-1).expand(B)
        t_emb = timestep_embedding(t, self.t_in, self.flip, self.shift).to(sample.dtype)
        emb = self.time_embedding(t_emb)
        if hooks is not None:
            hooks["time_proj"], hooks["time_embedding"] = t_emb, emb
        if self.class_embedding is not None:
            if class_labels is None:
                raise ValueError("class_labels required (class_embed_type 'timestep')")
            c = timestep_embedding(class_labels.reshape(-1).expand(B), self.t_in, self.flip,
                                   self.shift).to(sample.dtype)
            cemb = self.class_embedding(c)
            emb = emb + cemb
            if hooks is not None:
                hooks["class_embedding"] = cemb
        aug = self.add_embedding(encoder_hidden_states)
        emb = emb + aug
        if self.time_embed_act is not None:
            emb = self.time_embed_act(emb)
        ctx = self.encoder_hid_proj(encoder_hidden_states)
        if hooks is not None:
            hooks["add_embedding"], hooks["encoder_hid_proj"] = aug, ctx
        ctx_bias = None
        if encoder_attention_mask is not None:
            ctx_bias = ((1 - encoder_attention_mask.to(sample.dtype)) * -10000.0)[:, None, :]
        h = self.conv_in(sample)
        if hooks is not None:
            hooks["conv_in"] = h
        skips = [h]
        for i, blk in enumerate(self.down_blocks):
            h, outs = blk(h, emb, ctx, ctx_bias)
            skips += outs
            if hooks is not None:
                hooks[f"down_blocks.{i}"] = h
        h = self.mid_block(h, emb, ctx, ctx_bias)
        if hooks is not None:
            hooks["mid_block"] = h
        for i, blk in enumerate(self.up_blocks):
            h = blk(h, skips, emb, ctx, ctx_bias)
            if hooks is not None:
                hooks[f"up_blocks.{i}"] = h
        return self.conv_out(self.conv_act(self.conv_norm_out(h)))
