"""rosinality/stylegan2-pytorch checkpoints (`.pt`): read with torch's weights-only unpickler, renamed to NVIDIA's.

A checkpoint is `{'g_ema': state_dict, 'latent_avg': [w_dim], 'args': argparse.Namespace, 'g', 'd', ...}`.
Conventions, derived from the two forward passes:
    EqualLinear    weight * lr_mul / sqrt(in), bias * lr_mul, lrelu * sqrt 2 -- NVIDIA's FullyConnectedLayer:
                   the same tensors (`style.{i+1}` is `mapping.fc{i}`; `style.0` is PixelNorm, no tensors).
    ModulatedConv  weight [1, out, in, k, k] * 1/sqrt(in k^2) * style, demodulated: the constant cancels in the
                   demodulation (up to its 1e-8 epsilon), so NVIDIA's `weight` is rosinality's without the 1.
                   Upsampling is a plain transposed conv then the [1,3,3,1] blur in both: no flip.
    ToRGB          weight * 1/sqrt(in) * style: NVIDIA applies the same gain to the styles; bias [1, 3, 1, 1].
    noise          NoiseInjection.weight [1] is noise_strength []; `noises.noise_{i}` [1, 1, r, r] is noise_const.
Blur/upsample kernels are buffers there and `resample_filter` here; both must be the [1,3,3,1] filter.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

import torch

from instrument.errors import ModelError
from instrument.models.nvidia_pickle import channel_rule, generator_from_state
from instrument.models.ops import setup_filter
from instrument.models.safe_unpickler import torch_load_reason
from instrument.models.stylegan2 import Generator, GeneratorConfig

FORMAT = "rosinality"
W_AVG_SAMPLES = 4096  # when a checkpoint has no latent_avg, w_avg is the mean of this many mapped z


def _squeeze0(t: torch.Tensor) -> torch.Tensor:
    return t.reshape(t.shape[1:])


def _unsqueeze0(t: torch.Tensor) -> torch.Tensor:
    return t.unsqueeze(0)


def _flat(t: torch.Tensor) -> torch.Tensor:
    return t.reshape(-1)


def _layer_pairs(nv: str, ro: str, noise: str) -> list[tuple]:
    """(NVIDIA name, rosinality name, to NVIDIA, to rosinality) for one StyledConv."""
    return [
        (f"{nv}.weight", f"{ro}.conv.weight", _squeeze0, _unsqueeze0),
        (f"{nv}.affine.weight", f"{ro}.conv.modulation.weight", None, None),
        (f"{nv}.affine.bias", f"{ro}.conv.modulation.bias", None, None),
        (f"{nv}.noise_strength", f"{ro}.noise.weight", lambda t: t.reshape([]), lambda t: t.reshape([1])),
        (f"{nv}.bias", f"{ro}.activate.bias", None, None),
        (f"{nv}.noise_const", f"noises.{noise}", lambda t: t[0, 0], lambda t: t.reshape(1, 1, *t.shape)),
    ]


def _torgb_pairs(nv: str, ro: str) -> list[tuple]:
    return [
        (f"{nv}.weight", f"{ro}.conv.weight", _squeeze0, _unsqueeze0),
        (f"{nv}.affine.weight", f"{ro}.conv.modulation.weight", None, None),
        (f"{nv}.affine.bias", f"{ro}.conv.modulation.bias", None, None),
        (f"{nv}.bias", f"{ro}.bias", _flat, lambda t: t.reshape(1, -1, 1, 1)),
    ]


def name_pairs(config: GeneratorConfig) -> list[tuple]:
    """Every tensor of a skip generator as (NVIDIA name, rosinality name, to NVIDIA, to rosinality)."""
    pairs = [(f"mapping.fc{i}.{p}", f"style.{i + 1}.{p}", None, None)
             for i in range(config.mapping_layers) for p in ("weight", "bias")]
    pairs.append(("mapping.w_avg", "latent_avg", _flat, None))
    pairs.append(("synthesis.b4.const", "input.input", _squeeze0, _unsqueeze0))
    pairs += _layer_pairs("synthesis.b4.conv1", "conv1", "noise_0")
    pairs += _torgb_pairs("synthesis.b4.torgb", "to_rgb1")
    res, k = 8, 0
    while res <= config.img_resolution:
        pairs += _layer_pairs(f"synthesis.b{res}.conv0", f"convs.{2 * k}", f"noise_{2 * k + 1}")
        pairs += _layer_pairs(f"synthesis.b{res}.conv1", f"convs.{2 * k + 1}", f"noise_{2 * k + 2}")
        pairs += _torgb_pairs(f"synthesis.b{res}.torgb", f"to_rgbs.{k}")
        res, k = res * 2, k + 1
    return pairs


def _kernel_names(config: GeneratorConfig) -> list[str]:
    """rosinality's FIR buffers (blur of each upsampling conv, upsample of each later ToRGB)."""
    n = int(config.img_resolution).bit_length() - 3  # blocks after 4x4
    return [f"convs.{2 * k}.conv.blur.kernel" for k in range(n)] + [f"to_rgbs.{k}.upsample.kernel" for k in range(n)]


def _filter_names(config: GeneratorConfig) -> list[str]:
    names = []
    for res in [2 ** i for i in range(2, int(config.img_resolution).bit_length())]:
        names.append(f"synthesis.b{res}.resample_filter")
        names += [f"synthesis.b{res}.{c}.resample_filter" for c in (("conv1",) if res == 4 else ("conv0", "conv1"))]
    return names


def config_from_state(state: dict[str, torch.Tensor], args: dict, source: str) -> GeneratorConfig:
    """The generator a rosinality state dict describes (always the 'skip' architecture, z_dim == w_dim)."""
    try:
        n_mlp = sum(1 for k in state if re.fullmatch(r"style\.\d+\.weight", k))
        w_dim = state["style.1.weight"].shape[0]
        channels = {4: state["conv1.conv.weight"].shape[1]}
        k = 0
        while f"convs.{2 * k + 1}.conv.weight" in state:
            channels[8 << k] = state[f"convs.{2 * k + 1}.conv.weight"].shape[1]
            k += 1
    except KeyError as exc:
        raise ModelError(f"model file '{source}' is missing {exc} in g_ema; is it a rosinality StyleGAN2 "
                         "checkpoint?") from None
    base, cmax = channel_rule(channels, source)
    return GeneratorConfig(z_dim=w_dim, w_dim=w_dim, mapping_layers=n_mlp, img_resolution=max(channels),
                           channel_base=base, channel_max=cmax, mapping_lr_mul=float(args.get("lr_mlp", 0.01)))


def _check_kernels(state: dict[str, torch.Tensor], config: GeneratorConfig, source: str) -> None:
    expected = setup_filter() * 4  # make_kernel([1, 3, 3, 1]) * upsample_factor ** 2
    for name in _kernel_names(config):
        if name in state and not torch.allclose(state[name].float(), expected):
            raise ModelError(f"model file '{source}' has a custom FIR kernel '{name}'; only the default "
                             "[1, 3, 3, 1] blur is supported")


def to_nvidia(state: dict[str, torch.Tensor], config: GeneratorConfig, source: str) -> dict[str, torch.Tensor]:
    """rosinality g_ema (plus 'latent_avg') -> NVIDIA-named state dict; every tensor accounted for."""
    out, used = {}, set()
    for nv, ro, fwd, _ in name_pairs(config):
        if ro not in state:
            raise ModelError(f"model file '{source}' is missing '{ro}' (NVIDIA '{nv}') for a "
                             f"{config.img_resolution}x{config.img_resolution} generator")
        t = state[ro].detach().to(torch.float32)
        out[nv] = (fwd(t) if fwd else t).clone()
        used.add(ro)
    _check_kernels(state, config, source)
    extra = [k for k in state if k not in used and k not in _kernel_names(config)]
    if extra:
        raise ModelError(f"model file '{source}' has unexpected tensor '{extra[0]}' ({len(extra)} in all); "
                         "is it a StyleGAN2 generator this reader supports?")
    out.update({name: setup_filter() for name in _filter_names(config)})
    return out


def from_nvidia(state: dict[str, torch.Tensor], config: GeneratorConfig) -> dict[str, torch.Tensor]:
    """NVIDIA-named state dict -> rosinality g_ema plus 'latent_avg' (what their checkpoints carry)."""
    if config.architecture != "skip" or config.c_dim:
        raise ModelError(f"rosinality's Generator has no {config.architecture!r} architecture or class input "
                         f"(this one: c_dim {config.c_dim}); only unconditional 'skip' generators can be written")
    out = {}
    for nv, ro, _, back in name_pairs(config):
        t = state[nv].detach().to(torch.float32).contiguous()
        out[ro] = (back(t) if back else t).clone()
    out.update({name: setup_filter() * 4 for name in _kernel_names(config)})
    return out


def read_checkpoint(path: Path) -> dict:
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # weights-only refusals are UnpicklingError; bad files RuntimeError
        raise ModelError(f"refusing to load '{path.name}': it is not a checkpoint torch can read as plain "
                         f"data ({torch_load_reason(exc)})") from None
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("g_ema"), dict):
        keys = ", ".join(map(str, ckpt)) if isinstance(ckpt, dict) else type(ckpt).__name__
        raise ModelError(f"model file '{path.name}' holds {keys or 'nothing'}, expected a rosinality checkpoint "
                         "with a 'g_ema' state dict")
    return ckpt


def plain_args(ns) -> dict:
    items = vars(ns).items() if isinstance(ns, argparse.Namespace) else (ns or {}).items()
    return {str(k): v for k, v in items if isinstance(v, (bool, int, float, str, type(None)))}


@torch.no_grad()
def _estimate_w_avg(G: Generator) -> None:
    z = torch.randn([W_AVG_SAMPLES, G.z_dim], generator=torch.Generator().manual_seed(0))
    G.mapping.w_avg.copy_(G.mapping(z.to(G.mapping.w_avg.device))[:, 0].mean(dim=0))


def load_rosinality(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[Generator, dict]:
    """(g_ema as our Generator in eval mode, metadata) from a rosinality checkpoint; no code from it runs."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file '{path}' does not exist; check the path")
    ckpt = read_checkpoint(path)
    args = plain_args(ckpt.get("args"))
    state = {k: v for k, v in ckpt["g_ema"].items() if isinstance(v, torch.Tensor)}
    config = config_from_state(state, args, path.name)
    latent_avg = ckpt.get("latent_avg")
    has_avg = isinstance(latent_avg, torch.Tensor) and latent_avg.numel() == config.w_dim
    state["latent_avg"] = latent_avg if has_avg else torch.zeros(config.w_dim)
    G = generator_from_state(config, to_nvidia(state, config, path.name), path.name, device)
    if not has_avg:
        _estimate_w_avg(G)
    meta = {"format": FORMAT, "args": args, "networks": sorted(map(str, ckpt)),
            "w_avg": "latent_avg" if has_avg else f"mean of {W_AVG_SAMPLES} mapped z (no latent_avg saved)"}
    return G, meta
