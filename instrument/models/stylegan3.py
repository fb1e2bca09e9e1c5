"""StyleGAN3 generator (Karras et al. 2021, "Alias-Free Generative Adversarial Networks") in plain PyTorch,
state_dict-compatible with NVIDIA's stylegan3 `networks_stylegan3.py` (configs T and R).

The image is a continuous signal: Fourier features (`SynthesisInput`) sampled on a grid with a margin, then
layers that each run a modulated convolution and a filtered leaky ReLU (upsample 2x, nonlinearity, low-pass,
downsample) whose cutoffs and sampling rates follow the paper's geometric design (`layer_specs`). Nothing is
tied to pixel positions, so translating or rotating the input features (`set_input_transform`) moves the
content of the image -- that is the instrument's "input translation / rotation".

    G = make_stylegan3(stylegan3_config("t", img_resolution=256), seed=0)
    ws = G.mapping(z, truncation_psi=0.7)            # [batch, num_ws, w_dim], num_ws = num_layers + 2
    G.set_input_transform((0.1, 0.0), rotate_deg=15)
    img = G.synthesis(ws)                            # [batch, 3, res, res]; noise arguments are ignored
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from instrument.models.ops import LRELU_GAIN, LRELU_SLOPE, cast
from instrument.models.sg3_ops import (
    apply_separable, design_lowpass_filter, downsample_fir, fir_kernels, lrelu_clamp,
    modulated_conv2d, upsample_fir, upsample_matrix,
)
from instrument.models.mapping import FullyConnectedLayer, StyleGenerator, seeded_generator
from instrument.models.stylegan2 import NOISE_MODES

CONFIG_KINDS = ("t", "r")


@dataclass(frozen=True)
class StyleGAN3Config:
    """Architecture hyper-parameters, named and defaulted as in NVIDIA's networks_stylegan3.py (config T)."""

    z_dim: int = 512
    w_dim: int = 512
    mapping_layers: int = 2
    mapping_lr_mul: float = 0.01
    w_avg_beta: float = 0.998
    img_resolution: int = 256
    img_channels: int = 3
    channel_base: int = 32768  # channels of layer i: min(channel_base / 2 / cutoff_i, channel_max)
    channel_max: int = 512
    num_layers: int = 14  # synthesis layers besides the input; the last is the to-RGB layer
    num_critical: int = 2  # top layers sampled critically (cutoff = Nyquist)
    first_cutoff: float = 2.0  # f_c of the input, cycles per image
    first_stopband: float = 2 ** 2.1
    last_stopband_rel: float = 2 ** 0.3  # f_t of the last layer over its cutoff
    margin_size: int = 10  # pixels computed beyond the image on each side
    output_scale: float = 0.25
    num_fp16_res: int = 4  # recorded for NVIDIA parity; this implementation computes in float32
    conv_kernel: int = 3  # 1 for config R
    filter_size: int = 6  # taps per unit of up/down factor
    lrelu_upsampling: int = 2  # how much the nonlinearity's sampling rate exceeds the layer's
    use_radial_filters: bool = False  # True for config R: jinc down-filters in non-critical layers
    conv_clamp: float | None = 256.0
    magnitude_ema_beta: float = 0.999
    c_dim: int = 0  # class labels of a conditional model (embedding width w_dim, as NVIDIA's); 0 = unconditional

    def __post_init__(self) -> None:
        r = self.img_resolution
        if r < 4 or r & (r - 1):
            raise ValueError(f"img_resolution must be a power of two >= 4, got {r}")
        if not 0 <= self.num_critical < self.num_layers:
            raise ValueError(f"num_critical must be in 0..{self.num_layers - 1}, got {self.num_critical}")
        if self.conv_kernel not in (1, 3):
            raise ValueError(f"conv_kernel must be 1 (config R) or 3 (config T), got {self.conv_kernel}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> StyleGAN3Config:
        known = {f.name for f in dataclasses.fields(cls)}
        for key in d:
            if key not in known:
                raise ValueError(f"unknown StyleGAN3Config key {key!r}; known keys: {', '.join(sorted(known))}")
        return cls(**d)


def stylegan3_config(kind: str = "t", **overrides) -> StyleGAN3Config:
    """NVIDIA's training configs: 't' (translation equivariant) or 'r' (also rotation: 1x1 convs, radial
    filters, twice the channels)."""
    if kind not in CONFIG_KINDS:
        raise ValueError(f"StyleGAN3 config {kind!r} is not one of {', '.join(CONFIG_KINDS)}")
    args = {}
    if kind == "r":
        base = StyleGAN3Config()
        args = dict(conv_kernel=1, use_radial_filters=True, channel_base=base.channel_base * 2,
                    channel_max=base.channel_max * 2)
    args.update(overrides)
    return StyleGAN3Config(**args)


# --- the design procedure (paper section 3.2 and appendix F) -----------------------------------------------------

@dataclass(frozen=True)
class LayerSpec:
    """Per-layer sampling design, attribute names as on NVIDIA's SynthesisLayer."""

    name: str
    is_torgb: bool
    is_critically_sampled: bool
    use_fp16: bool
    in_channels: int
    out_channels: int
    in_size: int
    out_size: int
    in_sampling_rate: int
    out_sampling_rate: int
    in_cutoff: float
    out_cutoff: float
    in_half_width: float
    out_half_width: float


def design(cfg: StyleGAN3Config) -> dict[str, np.ndarray]:
    """Cutoffs f_c, stopbands f_t, sampling rates s, half widths f_h, sizes and channels of the input (index 0)
    and of every layer (1..num_layers), in float64 as NVIDIA computes them."""
    last_cutoff = cfg.img_resolution / 2
    last_stopband = last_cutoff * cfg.last_stopband_rel
    exponents = np.minimum(np.arange(cfg.num_layers + 1) / (cfg.num_layers - cfg.num_critical), 1)
    cutoffs = cfg.first_cutoff * (last_cutoff / cfg.first_cutoff) ** exponents
    stopbands = cfg.first_stopband * (last_stopband / cfg.first_stopband) ** exponents
    sampling_rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, cfg.img_resolution))))
    half_widths = np.maximum(stopbands, sampling_rates / 2) - cutoffs
    sizes = sampling_rates + cfg.margin_size * 2
    sizes[-2:] = cfg.img_resolution  # the last two layers have no margin
    channels = np.rint(np.minimum((cfg.channel_base / 2) / cutoffs, cfg.channel_max))
    channels[-1] = cfg.img_channels
    return dict(cutoffs=cutoffs, stopbands=stopbands, sampling_rates=sampling_rates, half_widths=half_widths,
                sizes=sizes, channels=channels)


def layer_specs(cfg: StyleGAN3Config) -> list[LayerSpec]:
    d = design(cfg)
    s, c, n = d["sampling_rates"], d["channels"], cfg.num_layers
    specs = []
    for idx in range(n + 1):
        prev = max(idx - 1, 0)
        out_size, out_channels = int(d["sizes"][idx]), int(c[idx])
        specs.append(LayerSpec(
            name=f"L{idx}_{out_size}_{out_channels}", is_torgb=idx == n, is_critically_sampled=idx >= n - cfg.num_critical,
            use_fp16=bool(s[idx] * 2 ** cfg.num_fp16_res > cfg.img_resolution),
            in_channels=int(c[prev]), out_channels=out_channels, in_size=int(d["sizes"][prev]), out_size=out_size,
            in_sampling_rate=int(s[prev]), out_sampling_rate=int(s[idx]),
            in_cutoff=float(d["cutoffs"][prev]), out_cutoff=float(d["cutoffs"][idx]),
            in_half_width=float(d["half_widths"][prev]), out_half_width=float(d["half_widths"][idx])))
    return specs


def input_transform(translate_xy: tuple[float, float], rotate_deg: float) -> torch.Tensor:
    """The `transform` buffer for content moved by `translate_xy` (image widths, +x right, +y down) and rotated
    by `rotate_deg`: the inverse of that motion, as NVIDIA's visualizer writes it. [3, 3] float32."""
    a = math.radians(rotate_deg)
    m = np.array([[math.cos(a), math.sin(a), translate_xy[0]],
                  [-math.sin(a), math.cos(a), translate_xy[1]],
                  [0.0, 0.0, 1.0]])
    return torch.as_tensor(np.linalg.inv(m), dtype=torch.float32)


def _after_load(module: nn.Module, incompatible_keys) -> None:
    module.after_load()


# --- modules -------------------------------------------------------------------------------------------------------

class SynthesisInput(nn.Module):
    """Fourier features: `channels` sinusoids of random frequency (|f| <= bandwidth) and phase, rotated and
    translated by an affine of w, then by the user `transform`, sampled on a [size, size] grid; a learned
    channel mix follows."""

    def __init__(self, w_dim: int, channels: int, size: int, sampling_rate: float, bandwidth: float):
        super().__init__()
        self.w_dim, self.channels, self.size = w_dim, channels, size
        self.sampling_rate, self.bandwidth = float(sampling_rate), float(bandwidth)
        freqs = torch.randn([channels, 2])  # uniform-ish in the disc of radius bandwidth
        radii = freqs.square().sum(dim=1, keepdim=True).sqrt()
        freqs = freqs / (radii * radii.square().exp().pow(0.25)) * bandwidth
        phases = torch.rand([channels]) - 0.5
        self.weight = nn.Parameter(torch.randn([channels, channels]))  # [out, in]
        self.affine = FullyConnectedLayer(w_dim, 4)  # t = (r_c, r_s, t_x, t_y); identity at init
        with torch.no_grad():
            self.affine.weight.zero_()
            self.affine.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0]))
        self.register_buffer("transform", torch.eye(3))  # user inverse transform of the image
        self.register_buffer("freqs", freqs)  # [channels, 2] cycles per unit
        self.register_buffer("phases", phases)  # [channels] in cycles
        self.register_buffer("grid", None, persistent=False)  # [size, size, 2] sample positions, derived
        self.register_load_state_dict_post_hook(_after_load)
        self.after_load()

    @torch.no_grad()
    def after_load(self) -> None:
        """Sample positions of the pixel centres in units of one image (align_corners=False)."""
        theta = torch.zeros([1, 2, 3], device=self.freqs.device)
        theta[0, 0, 0] = theta[0, 1, 1] = 0.5 * self.size / self.sampling_rate
        self.grid = nn.functional.affine_grid(theta, [1, 1, self.size, self.size], align_corners=False)[0]

    def transforms(self, w: torch.Tensor) -> torch.Tensor:  # [batch, w_dim] -> [batch, 3, 3]
        """Learned rotation then translation from w, then the user transform."""
        t = self.affine(w)  # [batch, 4]
        t = t / t[:, :2].norm(dim=1, keepdim=True)
        b = w.shape[0]
        m_r = torch.eye(3, device=w.device).repeat(b, 1, 1)
        m_r[:, 0, 0], m_r[:, 0, 1], m_r[:, 1, 0], m_r[:, 1, 1] = t[:, 0], -t[:, 1], t[:, 1], t[:, 0]
        m_t = torch.eye(3, device=w.device).repeat(b, 1, 1)
        m_t[:, 0, 2], m_t[:, 1, 2] = -t[:, 2], -t[:, 3]
        return m_r @ m_t @ self.transform.unsqueeze(0)

    def forward(self, w: torch.Tensor) -> torch.Tensor:  # [batch, w_dim] -> [batch, channels, size, size]
        m = self.transforms(w)
        phases = self.phases.unsqueeze(0) + (self.freqs.unsqueeze(0) @ m[:, :2, 2:]).squeeze(2)  # [batch, C]
        freqs = self.freqs.unsqueeze(0) @ m[:, :2, :2]  # [batch, C, 2]
        # Frequencies a user rotation/scale pushes past the band fade out instead of aliasing.
        amplitudes = (1 - (freqs.norm(dim=2) - self.bandwidth) / (self.sampling_rate / 2 - self.bandwidth)).clamp(0, 1)
        x = torch.einsum("hwk,bck->bhwc", self.grid, freqs) + phases.reshape(-1, 1, 1, self.channels)
        x = torch.sin(x * (2 * np.pi)) * amplitudes.reshape(-1, 1, 1, self.channels)  # [batch, h, w, C]
        x = x @ (self.weight / math.sqrt(self.channels)).t()
        return x.permute(0, 3, 1, 2)


class SynthesisLayer(nn.Module):
    """Modulated conv (3x3 or 1x1, "full" padding) + bias + filtered leaky ReLU; the to-RGB layer is a 1x1 conv
    without demodulation, nonlinearity or resampling. Inputs are divided by their trained rms (`magnitude_ema`)."""

    def __init__(self, spec: LayerSpec, w_dim: int, conv_kernel: int = 3, filter_size: int = 6,
                 lrelu_upsampling: int = 2, use_radial_filters: bool = False, conv_clamp: float | None = 256.0,
                 magnitude_ema_beta: float = 0.999):
        super().__init__()
        for f in dataclasses.fields(spec):
            setattr(self, f.name, getattr(spec, f.name))
        self.w_dim, self.conv_clamp, self.magnitude_ema_beta = w_dim, conv_clamp, magnitude_ema_beta
        self.conv_kernel = 1 if spec.is_torgb else conv_kernel
        self.tmp_sampling_rate = max(spec.in_sampling_rate, spec.out_sampling_rate) * (1 if spec.is_torgb else lrelu_upsampling)
        self.affine = FullyConnectedLayer(w_dim, spec.in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([spec.out_channels, spec.in_channels, self.conv_kernel, self.conv_kernel]))
        self.bias = nn.Parameter(torch.zeros([spec.out_channels]))
        self.register_buffer("magnitude_ema", torch.ones([]))
        self._design_filters(filter_size, use_radial_filters)
        self.register_load_state_dict_post_hook(_after_load)
        self.after_load()

    def _design_filters(self, filter_size: int, use_radial_filters: bool) -> None:
        """Up-filter at the input's cutoff, down-filter at the output's, both at the nonlinearity's rate; the
        padding centres the output samples (the paper's "symmetric interpretation", appendix C.3)."""
        self.up_factor = round(self.tmp_sampling_rate / self.in_sampling_rate)
        self.down_factor = round(self.tmp_sampling_rate / self.out_sampling_rate)
        if self.in_sampling_rate * self.up_factor != self.tmp_sampling_rate or \
                self.out_sampling_rate * self.down_factor != self.tmp_sampling_rate:
            raise ValueError(f"layer {self.name}: sampling rates {self.in_sampling_rate} -> {self.tmp_sampling_rate} "
                             f"-> {self.out_sampling_rate} are not integer ratios")
        self.up_taps = filter_size * self.up_factor if self.up_factor > 1 and not self.is_torgb else 1
        self.down_taps = filter_size * self.down_factor if self.down_factor > 1 and not self.is_torgb else 1
        self.down_radial = use_radial_filters and not self.is_critically_sampled
        self.register_buffer("up_filter", design_lowpass_filter(
            self.up_taps, self.in_cutoff, self.in_half_width * 2, self.tmp_sampling_rate))
        self.register_buffer("down_filter", design_lowpass_filter(
            self.down_taps, self.out_cutoff, self.out_half_width * 2, self.tmp_sampling_rate, radial=self.down_radial))
        pad_total = (self.out_size - 1) * self.down_factor + 1  # size before downsampling
        pad_total -= (self.in_size + self.conv_kernel - 1) * self.up_factor  # conv output after upsampling
        pad_total += self.up_taps + self.down_taps - 2  # lost to the two valid FIRs
        pad_lo = (pad_total + self.up_factor) // 2
        self.padding = [pad_lo, pad_total - pad_lo, pad_lo, pad_total - pad_lo]  # x0, x1, y0, y1

    @torch.no_grad()
    def after_load(self) -> None:
        """Depthwise conv weights for the loaded filters (gain up^2 on the up-filter)."""
        up = None if self.up_filter is None else self.up_filter.float()
        down = None if self.down_filter is None else self.down_filter.float()
        for prefix, kernels in (("fir_up", fir_kernels(up, self.out_channels, self.up_factor ** 2)),
                                ("fir_down", fir_kernels(down, self.out_channels, 1.0))):
            for i in range(2):  # non-persistent buffers, so .to(device) moves them
                self.register_buffer(f"{prefix}{i}", kernels[i] if i < len(kernels) else None, persistent=False)
        conv_len = self.in_size + self.conv_kernel - 1
        up_m = upsample_matrix(up, conv_len, self.up_factor, self.padding[0], self.padding[1])
        self.register_buffer("up_matrix", None if up is not None and up.ndim == 2 else up_m, persistent=False)
        self.register_buffer("down_matrix", None, persistent=False)  # a strided conv measured faster on CPU

    def _kernels(self, prefix: str) -> tuple[torch.Tensor, ...]:
        return tuple(k for k in (getattr(self, f"{prefix}0"), getattr(self, f"{prefix}1")) if k is not None)

    def forward(self, x: torch.Tensor, w: torch.Tensor, update_emas: bool = False) -> torch.Tensor:
        # x: [batch, in, in_size, in_size], w: [batch, w_dim] -> [batch, out, out_size, out_size]
        if update_emas:  # training only
            with torch.no_grad():
                cur = x.detach().float().square().mean()
                self.magnitude_ema.copy_(cur.lerp(self.magnitude_ema, self.magnitude_ema_beta))
        styles = self.affine(w)  # [batch, in]
        if self.is_torgb:
            styles = styles * (1 / math.sqrt(self.in_channels * self.conv_kernel ** 2))
        x = modulated_conv2d(x, self.weight, styles, self.magnitude_ema.rsqrt(), self.bias,
                             demodulate=not self.is_torgb)
        gain, slope = (1.0, 1.0) if self.is_torgb else (LRELU_GAIN, LRELU_SLOPE)
        if self.is_torgb:  # no resampling, padding 0
            return lrelu_clamp(x, gain, slope, self.conv_clamp)
        if self.up_matrix is None:  # 2-D up-filter
            x = upsample_fir(x, self._kernels("fir_up"), self.up_factor, self.padding)
        else:
            x = apply_separable(x, self.up_matrix)
        x = lrelu_clamp(x, gain, slope, self.conv_clamp)
        if self.down_matrix is None:  # strided depthwise conv (separable or radial)
            return downsample_fir(x, self._kernels("fir_down"), self.down_factor)
        return apply_separable(x, self.down_matrix)


class SynthesisNetwork(nn.Module):
    """ws -> image: `input` from ws[0], then layers L0 .. L{num_layers} from ws[1:], times output_scale."""

    def __init__(self, cfg: StyleGAN3Config):
        super().__init__()
        self.w_dim, self.img_resolution, self.img_channels = cfg.w_dim, cfg.img_resolution, cfg.img_channels
        self.num_layers, self.num_critical, self.margin_size = cfg.num_layers, cfg.num_critical, cfg.margin_size
        self.output_scale, self.num_fp16_res = cfg.output_scale, cfg.num_fp16_res
        self.num_ws = cfg.num_layers + 2
        d = design(cfg)
        self.input = SynthesisInput(cfg.w_dim, int(d["channels"][0]), int(d["sizes"][0]),
                                    d["sampling_rates"][0], d["cutoffs"][0])
        self.layer_names = []
        for spec in layer_specs(cfg):
            setattr(self, spec.name, SynthesisLayer(
                spec, cfg.w_dim, cfg.conv_kernel, cfg.filter_size, cfg.lrelu_upsampling, cfg.use_radial_filters,
                cfg.conv_clamp, cfg.magnitude_ema_beta))
            self.layer_names.append(spec.name)

    def forward(self, ws: torch.Tensor, noise_mode: str = "const", noise_generator: torch.Generator | None = None,
                force_fp32: bool = False, update_emas: bool = False) -> torch.Tensor:
        # ws: [batch, num_ws, w_dim] -> img [batch, img_channels, res, res] float32; StyleGAN3 has no noise inputs
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode {noise_mode!r} is not one of {', '.join(NOISE_MODES)}")
        if ws.ndim != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ValueError(f"ws must have shape [batch, {self.num_ws}, {self.w_dim}], got {list(ws.shape)}")
        w_list = cast(ws, torch.float32).unbind(dim=1)
        x = self.input(w_list[0])
        for name, w in zip(self.layer_names, w_list[1:]):
            x = getattr(self, name)(x, w, update_emas)
        return x * self.output_scale if self.output_scale != 1 else x


class StyleGAN3Generator(StyleGenerator):
    """z -> image, with NVIDIA's `mapping` / `synthesis` names; drives like our StyleGAN2 Generator."""

    def __init__(self, config: StyleGAN3Config | None = None):
        cfg = config or StyleGAN3Config()
        super().__init__(cfg, SynthesisNetwork(cfg))

    @torch.no_grad()
    def set_input_transform(self, translate_xy: tuple[float, float] = (0.0, 0.0), rotate_deg: float = 0.0) -> None:
        """Move the image content by `translate_xy` image widths and rotate it by `rotate_deg` (in place)."""
        self.synthesis.input.transform.copy_(input_transform(translate_xy, rotate_deg))


def make_stylegan3(config: StyleGAN3Config, seed: int, w_avg_samples: int = 4096) -> StyleGAN3Generator:
    """Randomly initialised generator, identical for equal seeds; eval mode, no grads; w_avg from mapped z."""
    return seeded_generator(StyleGAN3Generator, config, seed, w_avg_samples)
