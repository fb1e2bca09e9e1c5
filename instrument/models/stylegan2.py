"""StyleGAN2 generator (Karras et al. 2020) in plain PyTorch, state_dict-compatible with stylegan2-ada-pytorch.

Inference-first but trainable: every op is differentiable and equalized learning rate is kept -- parameters
are stored at unit scale (N(0, 1) / lr_mul) and multiplied at runtime by lr_mul / sqrt(fan_in), so that a
converted NVIDIA pickle and a model trained here share one set of tensors and one forward pass.

    G = make_generator(DEFAULT_CONFIG, seed=0)
    ws = G.mapping(z, truncation_psi=0.7)            # [batch, num_ws, w_dim]
    img = G.synthesis(ws, noise_mode="const")        # [batch, 3, res, res], about [-1, 1] once trained
    ws = G.mapping(z, c=one_hot)                     # conditional models (c_dim > 0): c is [batch, c_dim]

Activations run channels_last (NHWC): oneDNN on CPU is several times faster on it, and 3x3 conv weights are
stored in the matching layout (values and state_dict names unchanged) so no weight is reordered per frame.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
from torch import nn

from instrument.models.mapping import (  # noqa: F401 (re-exported: older imports of these from here)
    FullyConnectedLayer, MappingNetwork, StyleGenerator, random_classes, seeded_generator,
)
from instrument.models.ops import (
    LRELU_GAIN, LRELU_SLOPE, cast, conv_weight_layout, demodulation_coefs, fir_weight, fp16_prenormalize,
    modulated_conv2d, modulated_conv2d_folded, prefer_folded, setup_filter, upsample2d,
)

ARCHITECTURES = ("orig", "skip", "resnet")
NOISE_MODES = ("const", "random", "none", "off")
RESIDUAL_GAIN = math.sqrt(0.5)  # 'resnet' blocks: shortcut + main path keep unit variance


@dataclass(frozen=True)
class GeneratorConfig:
    """Architecture hyper-parameters, named as in NVIDIA's stylegan2-ada-pytorch."""

    z_dim: int = 512
    w_dim: int = 512
    mapping_layers: int = 8
    img_resolution: int = 256
    img_channels: int = 3
    channel_base: int = 32768  # channels at resolution r: min(channel_base // r, channel_max)
    channel_max: int = 512
    architecture: str = "skip"
    num_fp16_res: int = 0  # top resolutions computed in float16 (CUDA only)
    conv_clamp: float | None = None  # clamp pre-activations to +-conv_clamp
    mapping_lr_mul: float = 0.01
    w_avg_beta: float = 0.995
    c_dim: int = 0  # class labels of a conditional model; 0 = unconditional
    embed_features: int | None = None  # width of the class embedding; None = w_dim

    def __post_init__(self) -> None:
        r = self.img_resolution
        if r < 4 or r & (r - 1):
            raise ValueError(f"img_resolution must be a power of two >= 4, got {r}")
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture {self.architecture!r} is not supported; use one of {ARCHITECTURES}")
        if self.channels(r) < 1:
            raise ValueError(f"channel_base={self.channel_base} / channel_max={self.channel_max} leave no "
                             f"channels at {r}x{r}; raise them")
        if self.c_dim < 0 or (self.embed_features is not None and self.embed_features < 1):
            raise ValueError(f"c_dim must be >= 0 and embed_features >= 1 (or None), got c_dim={self.c_dim}, "
                             f"embed_features={self.embed_features}")

    def channels(self, res: int) -> int:
        return min(self.channel_base // res, self.channel_max)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> GeneratorConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        for key in d:
            if key not in known:
                raise ValueError(f"unknown GeneratorConfig key {key!r}; known keys: {', '.join(sorted(known))}")
        return cls(**d)


# The bundled default: 128x128, 128 channels up to 32x32 then 64 / 32, 256-d latents (2.2 M parameters).
# mapping + synthesis at batch 1 on the 2-core dev CPU: ~13 ms with 2 threads, ~19 ms with 1; twice the
# channels (channel_base 8192) costs ~26 / ~44 ms, and z/w 512 adds ~0.6 ms of mapping for no image gain.
DEFAULT_CONFIG = GeneratorConfig(z_dim=256, w_dim=256, img_resolution=128, channel_base=4096, channel_max=128)


def _after_load(module: nn.Module, incompatible_keys) -> None:
    """load_state_dict post-hook: refresh what is derived from loaded tensors (FIR weights, layouts)."""
    module.after_load()


class SynthesisLayer(nn.Module):
    """Modulated 3x3 conv (optionally 2x up) + demodulation + noise + bias + lrelu * sqrt 2 (+ clamp)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, up: int = 1,
                 conv_clamp: float | None = None):
        super().__init__()
        self.resolution, self.up, self.conv_clamp = resolution, up, conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(conv_weight_layout(torch.randn([out_channels, in_channels, 3, 3]), up > 1))
        self.register_buffer("noise_const", torch.randn([resolution, resolution]))
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.register_buffer("resample_filter", setup_filter())
        self.register_buffer("fir_up", None, persistent=False)  # [out, 1, 4, 4] when up > 1, derived
        self.register_load_state_dict_post_hook(_after_load)
        self.after_load()

    @torch.no_grad()
    def after_load(self) -> None:
        """Derive the depthwise FIR weight from `resample_filter`; restore the fast weight layout."""
        if self.up > 1:
            f = fir_weight(self.resample_filter.float(), self.weight.shape[0], gain=self.up ** 2)
            self.fir_up = f.to(self.resample_filter.device)
        self.weight.data = conv_weight_layout(self.weight.data, self.up > 1)

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str = "const",
                noise_generator: torch.Generator | None = None) -> torch.Tensor:
        # x: [batch, in, res / up, res / up], w: [batch, w_dim] -> [batch, out, res, res]
        styles = self.affine(w)  # [batch, in]
        weight = self.weight  # [out, in, 3, 3]
        if x.dtype == torch.float16:
            weight, styles = fp16_prenormalize(weight, styles)
        dcoefs = demodulation_coefs(weight, styles) * LRELU_GAIN  # [batch, out]; act gain folded in
        bias = self.bias * LRELU_GAIN  # [out]
        if prefer_folded(x, weight, self.up):  # batch 1: one conv, bias inside it
            x = modulated_conv2d_folded(x, weight, styles, dcoefs, bias, self.up, self.fir_up)
        else:
            x = modulated_conv2d(x, weight, styles, self.up, self.fir_up)  # [batch, out, res, res]
            x = torch.addcmul(cast(bias, x.dtype).reshape(1, -1, 1, 1), x,
                              cast(dcoefs, x.dtype).reshape(x.shape[0], -1, 1, 1))
        x = self._add_noise(x, noise_mode, noise_generator)
        x = torch.nn.functional.leaky_relu_(x, LRELU_SLOPE)
        if self.conv_clamp is not None:
            x = x.clamp(-self.conv_clamp, self.conv_clamp)
        return x

    def _add_noise(self, x: torch.Tensor, noise_mode: str, gen: torch.Generator | None) -> torch.Tensor:
        """x += noise * noise_strength * act gain; noise is [1 | batch, 1, res, res] per pixel."""
        if noise_mode == "const":
            noise = self.noise_const.reshape(1, 1, self.resolution, self.resolution)
        elif noise_mode == "random":
            shape = [x.shape[0], 1, self.resolution, self.resolution]
            device = gen.device if gen is not None else x.device  # a seeded CPU generator works on CUDA too
            noise = torch.randn(shape, generator=gen, device=device)
            noise = noise if noise.device == x.device else noise.to(x.device)
        else:  # 'none' / 'off'
            return x
        return x.add_(noise * self.noise_strength, alpha=LRELU_GAIN)  # (addcmul_ is 7x slower on NHWC)


class ToRGBLayer(nn.Module):
    """Modulated 1x1 conv to image channels, no demodulation, + bias (+ clamp)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, conv_clamp: float | None = None):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, 1, 1]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.weight_gain = 1 / math.sqrt(in_channels)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        # x: [batch, in, h, w], w: [batch, w_dim] -> [batch, out, h, w]
        styles = self.affine(w)  # [batch, in]
        # A 1x1 conv is a matmul; modulating the tiny [out, in] weight per sample is cheaper than scaling
        # the activations: [batch, out, in] @ [batch, in, h*w] (a view, also for channels_last x).
        b, c, h, wd = x.shape
        wmod = cast(self.weight.reshape(1, -1, c) * styles.reshape(b, 1, c), x.dtype)  # [batch, out, in]
        bias = cast(self.bias, x.dtype).reshape(1, -1, 1)
        y = torch.baddbmm(bias, wmod, x.reshape(b, c, h * wd), alpha=self.weight_gain).reshape(b, -1, h, wd)
        if self.conv_clamp is not None:
            y = y.clamp(-self.conv_clamp, self.conv_clamp)
        return y


class SkipLayer(nn.Module):
    """The 'resnet' block's shortcut (NVIDIA's Conv2dLayer, 1x1, no bias, up=2): x -> upsample2d(1x1 conv(x)) * gain.

    NVIDIA's conv2d_resample runs a 1x1 conv before upsampling too (upfirdn2d, pad 2/1, gain 4); both steps are
    linear, so the output gain sqrt(1/2) is folded into the weight gain.
    """

    def __init__(self, in_channels: int, out_channels: int, gain: float = 1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, 1, 1]))  # [out, in, 1, 1]
        self.register_buffer("resample_filter", setup_filter())
        self.weight_gain = gain / math.sqrt(in_channels)
        self.register_buffer("fir_up", None, persistent=False)  # [out, 1, 4, 4], derived
        self.register_load_state_dict_post_hook(_after_load)
        self.after_load()

    @torch.no_grad()
    def after_load(self) -> None:
        f = fir_weight(self.resample_filter.float(), self.weight.shape[0], gain=4, transposed=True)
        self.fir_up = f.to(self.resample_filter.device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [batch, in, h, w] -> [batch, out, 2h, 2w]
        x = torch.nn.functional.conv2d(x, cast(self.weight * self.weight_gain, x.dtype))
        return upsample2d(x, self.fir_up)


class SynthesisBlock(nn.Module):
    """One resolution: [const | conv0 (2x up)] -> conv1 -> torgb, with the skip image upsampled alongside.

    'skip' (config E/F) sums every block's torgb into the image; 'orig' and 'resnet' draw the image with the last
    block's torgb only, and 'resnet' adds a shortcut around conv0 + conv1, both paths scaled by sqrt(1/2).
    """

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, img_channels: int,
                 is_last: bool, architecture: str = "skip", conv_clamp: float | None = None,
                 use_fp16: bool = False):
        super().__init__()
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture {architecture!r} is not implemented; use one of {ARCHITECTURES}")
        self.in_channels, self.img_channels, self.use_fp16 = in_channels, img_channels, use_fp16
        self.architecture = architecture
        residual = in_channels != 0 and architecture == "resnet"
        self.register_buffer("resample_filter", setup_filter())
        self.num_conv = self.num_torgb = 0
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn([out_channels, resolution, resolution]))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim, resolution, up=2, conv_clamp=conv_clamp)
            self.num_conv += 1
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim, resolution, conv_clamp=conv_clamp)
        self.num_conv += 1
        if residual:
            self.skip = SkipLayer(in_channels, out_channels, gain=RESIDUAL_GAIN)
        if is_last or architecture == "skip":
            self.torgb = ToRGBLayer(out_channels, img_channels, w_dim, conv_clamp=conv_clamp)
            self.num_torgb += 1
        self.register_buffer("fir_img_up", None, persistent=False)  # [img_channels, 1, 4, 4], derived
        self.register_load_state_dict_post_hook(_after_load)
        self.after_load()

    @torch.no_grad()
    def after_load(self) -> None:
        f = fir_weight(self.resample_filter.float(), self.img_channels, gain=4, transposed=True)
        self.fir_img_up = f.to(self.resample_filter.device)

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None, ws: torch.Tensor,
                noise_mode: str = "const", noise_generator: torch.Generator | None = None,
                force_fp32: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        # x: [batch, in, res/2, res/2] | None; img: [batch, img_channels, res/2, res/2] | None;
        # ws: [batch, num_conv + num_torgb, w_dim] -> (x [batch, out, res, res], img [batch, C, res, res])
        w_iter = iter(ws.unbind(dim=1))
        fp16 = self.use_fp16 and not force_fp32 and ws.device.type == "cuda"
        dtype = torch.float16 if fp16 else torch.float32
        shortcut = None
        if self.in_channels == 0:
            x = self.const.unsqueeze(0).expand(ws.shape[0], -1, -1, -1)
            x = x.to(dtype=dtype, memory_format=torch.channels_last)  # every later op keeps NHWC
        else:
            if x.dtype != dtype or not x.is_contiguous(memory_format=torch.channels_last):
                x = x.to(dtype=dtype, memory_format=torch.channels_last)
            shortcut = self.skip(x) if self.architecture == "resnet" else None
            x = self.conv0(x, next(w_iter), noise_mode, noise_generator)
        x = self.conv1(x, next(w_iter), noise_mode, noise_generator)
        if shortcut is not None:
            # NVIDIA runs conv1 with gain sqrt(1/2) (output and clamp scaled): the same as scaling conv1's clamped
            # output here, since clamp(a, +-c) * g == clamp(a * g, +-c * g) for g > 0. In place on the shortcut:
            # conv1's lrelu output is kept for its backward.
            x = shortcut.add_(x, alpha=RESIDUAL_GAIN)
        if img is not None:
            img = upsample2d(img, self.fir_img_up)
        if self.num_torgb:
            y = cast(self.torgb(x, next(w_iter)), torch.float32)
            img = y if img is None else img.add_(y)
        return x, img


class SynthesisNetwork(nn.Module):
    """ws -> image: blocks b4, b8, ..., b{img_resolution}."""

    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        self.w_dim, self.img_resolution, self.img_channels = cfg.w_dim, cfg.img_resolution, cfg.img_channels
        log2 = int(math.log2(cfg.img_resolution))
        self.block_resolutions = [2 ** i for i in range(2, log2 + 1)]
        fp16_resolution = max(2 ** (log2 + 1 - cfg.num_fp16_res), 8)
        self.num_ws = 0
        self.plan: list[tuple[str, int, int]] = []  # (block name, first w index, w count)
        for res in self.block_resolutions:
            block = SynthesisBlock(
                cfg.channels(res // 2) if res > 4 else 0, cfg.channels(res), cfg.w_dim, res, cfg.img_channels,
                is_last=(res == cfg.img_resolution), architecture=cfg.architecture,
                conv_clamp=cfg.conv_clamp, use_fp16=(res >= fp16_resolution))
            setattr(self, f"b{res}", block)
            self.plan.append((f"b{res}", self.num_ws, block.num_conv + block.num_torgb))
            self.num_ws += block.num_conv  # a block's torgb shares its w with the next block's conv0
        self.num_ws += block.num_torgb

    def forward(self, ws: torch.Tensor, noise_mode: str = "const",
                noise_generator: torch.Generator | None = None, force_fp32: bool = False) -> torch.Tensor:
        # ws: [batch, num_ws, w_dim] -> img [batch, img_channels, res, res] float32
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode {noise_mode!r} is not one of {', '.join(NOISE_MODES)}")
        if ws.ndim != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ValueError(f"ws must have shape [batch, {self.num_ws}, {self.w_dim}], got {list(ws.shape)}")
        ws = cast(ws, torch.float32)
        x = img = None
        for name, start, count in self.plan:
            block = getattr(self, name)
            x, img = block(x, img, ws[:, start:start + count], noise_mode, noise_generator, force_fp32)
        return img


class Generator(StyleGenerator):
    """z -> image. Submodules `mapping` and `synthesis` carry NVIDIA's state_dict names."""

    def __init__(self, config: GeneratorConfig | None = None):
        cfg = config or GeneratorConfig()
        super().__init__(cfg, SynthesisNetwork(cfg))


def make_generator(config: GeneratorConfig, seed: int, w_avg_samples: int = 4096) -> Generator:
    """Randomly initialised generator, identical for equal seeds (mapping.seeded_generator)."""
    return seeded_generator(Generator, config, seed, w_avg_samples)
