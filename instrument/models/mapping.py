"""The mapping network z (and class c) -> w, shared by StyleGAN2 and StyleGAN3, with NVIDIA's state_dict names.

Equalized learning rate as in the generators: parameters stored at unit scale (N(0, 1) / lr_mul), multiplied at
runtime by lr_mul / sqrt(fan_in). A conditional network (c_dim > 0) has NVIDIA's `embed` layer for the class.

    ws = mapping(z, truncation_psi=0.7)              # [batch, num_ws, w_dim]
    ws = mapping(z, c)                               # conditional: c [batch | 1, c_dim], one-hot class weights
"""

from __future__ import annotations

import math

import torch
from torch import nn

from instrument.models.ops import LRELU_GAIN, LRELU_SLOPE, cast, normalize_2nd_moment


class FullyConnectedLayer(nn.Module):
    """Linear layer with equalized learning rate; optional leaky ReLU (gain sqrt 2)."""

    def __init__(self, in_features: int, out_features: int, activation: str = "linear",
                 lr_mul: float = 1.0, bias_init: float = 0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)  # [out, in]
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init)))  # [out]
        self.activation = activation
        act_gain = LRELU_GAIN if activation == "lrelu" else 1.0  # folded in: lrelu(a) * g == lrelu(a * g)
        self.weight_scale = act_gain * lr_mul / math.sqrt(in_features)
        self.bias_scale = act_gain * lr_mul

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [batch, in] -> [batch, out]
        # bias_scale * bias + weight_scale * (x @ weight.T) in one op (few ops matter: each re-takes the GIL)
        x = torch.addmm(self.bias, x, self.weight.t(), beta=self.bias_scale, alpha=self.weight_scale)
        return torch.nn.functional.leaky_relu(x, LRELU_SLOPE) if self.activation == "lrelu" else x


class MappingNetwork(nn.Module):
    """z (and class c) -> w: normalize_2nd_moment, `num_layers` lrelu FC layers; broadcast to num_ws; truncation.

    A conditional network (c_dim > 0) embeds c with a linear `embed` layer (lr_mul 1), normalises the embedding
    like z and feeds [z, embedding] to fc0, as NVIDIA's MappingNetwork does.
    """

    def __init__(self, z_dim: int, w_dim: int, num_ws: int, num_layers: int = 8,
                 lr_mul: float = 0.01, w_avg_beta: float = 0.995, c_dim: int = 0,
                 embed_features: int | None = None):
        super().__init__()
        self.z_dim, self.w_dim, self.num_ws, self.w_avg_beta, self.c_dim = z_dim, w_dim, num_ws, w_avg_beta, c_dim
        embed_features = (w_dim if embed_features is None else embed_features) if c_dim else 0
        if c_dim:
            self.embed = FullyConnectedLayer(c_dim, embed_features)  # [batch, c_dim] -> [batch, embed_features]
        features = [z_dim + embed_features] + [w_dim] * num_layers
        self.layer_names = [f"fc{idx}" for idx in range(num_layers)]
        for idx, name in enumerate(self.layer_names):
            setattr(self, name, FullyConnectedLayer(features[idx], features[idx + 1], "lrelu", lr_mul=lr_mul))
        self.register_buffer("w_avg", torch.zeros([w_dim]))  # running mean of w, the truncation centre

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, update_emas: bool = False) -> torch.Tensor:
        # z: [batch, z_dim], c: [batch | 1, c_dim] or None (class 0) -> ws [batch, num_ws, w_dim]
        x = normalize_2nd_moment(cast(z, torch.float32))  # [batch, z_dim]
        if self.c_dim:
            x = torch.cat([x, self._embed_class(c, x)], dim=1)  # [batch, z_dim + embed_features]
        for name in self.layer_names:
            x = getattr(self, name)(x)  # [batch, w_dim]
        if update_emas and self.w_avg_beta is not None:  # training only
            with torch.no_grad():
                self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        ws = x.unsqueeze(1).repeat(1, self.num_ws, 1)  # [batch, num_ws, w_dim]
        if truncation_psi != 1:
            cut = self.num_ws if truncation_cutoff is None else max(0, min(int(truncation_cutoff), self.num_ws))
            head = self.w_avg.lerp(ws[:, :cut], truncation_psi)  # [batch, cut, w_dim]
            ws = torch.cat([head, ws[:, cut:]], dim=1)
        return ws

    def _embed_class(self, c: torch.Tensor | None, x: torch.Tensor) -> torch.Tensor:
        """normalize_2nd_moment(embed(c)) as [batch, embed_features]; c None means class 0."""
        if c is None:
            c = torch.zeros([1, self.c_dim], device=x.device)
            c[:, 0] = 1
        if c.ndim != 2 or c.shape[1] != self.c_dim or c.shape[0] not in (1, x.shape[0]):
            raise ValueError(f"c must have shape [{x.shape[0]} or 1, {self.c_dim}] (one-hot class weights), "
                             f"got {list(c.shape)}")
        y = normalize_2nd_moment(self.embed(cast(c, torch.float32)))
        return y.expand(x.shape[0], -1)


def random_classes(n: int, c_dim: int, gen: torch.Generator) -> torch.Tensor | None:
    """n one-hot class vectors [n, c_dim] drawn uniformly (None for an unconditional model): how NVIDIA's
    training samples c, so a w_avg estimated from them is the all-class mean its EMA tracks."""
    if not c_dim:
        return None
    return torch.nn.functional.one_hot(torch.randint(c_dim, [n], generator=gen), c_dim).float()


class StyleGenerator(nn.Module):
    """z (+ class) -> image: our MappingNetwork feeding a synthesis network, under NVIDIA's `mapping` / `synthesis`
    names. StyleGAN2's Generator and StyleGAN3Generator are this with their own synthesis network."""

    def __init__(self, cfg, synthesis: nn.Module):
        super().__init__()
        self.config = cfg
        self.z_dim, self.c_dim, self.w_dim = cfg.z_dim, cfg.c_dim, cfg.w_dim
        self.img_resolution, self.img_channels = cfg.img_resolution, cfg.img_channels
        self.synthesis = synthesis   # built before the mapping network: the seeded initialisation keeps that order
        self.num_ws = synthesis.num_ws
        self.mapping = MappingNetwork(cfg.z_dim, cfg.w_dim, self.num_ws, cfg.mapping_layers, cfg.mapping_lr_mul,
                                      cfg.w_avg_beta, cfg.c_dim, getattr(cfg, "embed_features", None))

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1,
                truncation_cutoff: int | None = None, noise_mode: str = "const",
                noise_generator: torch.Generator | None = None) -> torch.Tensor:
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, noise_mode=noise_mode, noise_generator=noise_generator)


@torch.no_grad()
def seeded_generator(make, config, seed: int, w_avg_samples: int = 4096) -> StyleGenerator:
    """`make(config)` randomly initialised, identical for equal seeds; eval mode, requires_grad False.

    NVIDIA starts w_avg at zero and lets training's EMA fill it; an untrained network has no EMA, so w_avg is
    set to the mean of `w_avg_samples` mapped z (drawn from the same seed) to make truncation meaningful.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        G = make(config)
    G.eval().requires_grad_(False)
    if w_avg_samples > 0:
        gen = torch.Generator().manual_seed(seed)
        z = torch.randn([w_avg_samples, config.z_dim], generator=gen)
        G.mapping.w_avg.copy_(G.mapping(z, random_classes(w_avg_samples, config.c_dim, gen))[:, 0].mean(dim=0))
    return G
