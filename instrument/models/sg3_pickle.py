"""StyleGAN3 generators from NVIDIA network pickles (read as data by `safe_unpickler`) and in our safetensors.

    tree = safe_unpickler.read_network_pickle("stylegan3-t-ffhqu-256x256.pkl")
    config, state = extract_sg3(tree, "stylegan3-t-ffhqu-256x256.pkl")   # StyleGAN3Config, NVIDIA-named tensors
    G = sg3_from_state(config, state, "stylegan3-t-ffhqu-256x256.pkl")

The config comes from the `_init_kwargs` NVIDIA's persistence records (channel_base, conv_kernel, ...), the
modules' attributes (num_layers, margin_size, output_scale, ...) and the tensors themselves (kernel size,
radial filters); the per-layer design computed from it is then checked against the attributes stored on every
layer, so a design that differs from the file's is refused with the layer and value named.

File layout of our safetensors (`instrument.stylegan3`): as `weights.py`'s `instrument.stylegan2`, with
"config" holding `StyleGAN3Config.to_dict()`.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open

from instrument.errors import ModelError
from instrument.models.conditioning import conditioning_text
from instrument.models.nvidia_pickle import _attr, class_conditioning, fill_from_state, flat_state_dict
from instrument.models.safe_unpickler import PersistentObject
from instrument.models.stylegan3 import StyleGAN3Config, StyleGAN3Generator, layer_specs
from instrument.models.weights import _check_tensors, _decode_metadata, _read_header, _reason

FORMAT = "instrument.stylegan3"
_FIX = "was it written by 'instrument convert'?"
_LAYER = re.compile(r"synthesis\.(L\d+_\d+_\d+)\.weight")
_SYNTHESIS_KWARGS = ("channel_base", "channel_max", "first_cutoff", "first_stopband", "last_stopband_rel",
                     "filter_size", "lrelu_upsampling", "use_radial_filters", "conv_clamp", "magnitude_ema_beta",
                     "num_layers", "num_critical", "margin_size", "output_scale", "num_fp16_res", "conv_kernel")
_CHECKED = ("in_channels", "out_channels", "in_size", "out_size", "in_sampling_rate", "out_sampling_rate",
            "in_cutoff", "out_cutoff", "in_half_width", "out_half_width", "up_factor", "down_factor", "padding")


def is_stylegan3(state: dict) -> bool:
    """Whether an NVIDIA-named state dict is a StyleGAN3 generator (Fourier input, L<i>_<size>_<ch> layers)."""
    return "synthesis.input.affine.weight" in state or any(_LAYER.fullmatch(k) for k in state)


def _plain_number(value):
    return value.item() if isinstance(value, np.generic) else value


def _layer_nodes(synthesis: PersistentObject, state: dict) -> list[tuple[str, PersistentObject | None]]:
    names = sorted({m.group(1) for k in state if (m := _LAYER.fullmatch(k))}, key=lambda n: int(n[1:].split("_")[0]))
    return [(name, synthesis.child(name)) for name in names]


# --- config -----------------------------------------------------------------------------------------------------

def _synthesis_kwargs(G: PersistentObject, synthesis: PersistentObject) -> dict:
    """Design kwargs: the Generator's init kwargs, then the synthesis network's, then its attributes."""
    found = {}
    for source in ((G.get("_init_kwargs") or {}).get("synthesis_kwargs") or {}, G.get("_init_kwargs") or {},
                   synthesis.get("_init_kwargs") or {}, synthesis.state):
        found.update({k: _plain_number(v) for k, v in source.items() if k in _SYNTHESIS_KWARGS})
    return found


def _config(G: PersistentObject, state: dict, source: str) -> StyleGAN3Config:
    mapping, synthesis = G.child("mapping"), G.child("synthesis")
    layers = _layer_nodes(synthesis, state)
    first = layers[0][1] if layers else None
    kw = _synthesis_kwargs(G, synthesis)
    kw["num_layers"] = len(layers) - 1  # the tensors decide, whatever the kwargs say
    kw["conv_kernel"] = int(state[f"synthesis.{layers[0][0]}.weight"].shape[-1])
    down = state.get(f"synthesis.{layers[0][0]}.down_filter")
    kw["use_radial_filters"] = bool(kw.get("use_radial_filters", False)) or (down is not None and down.ndim == 2)
    for name in ("conv_clamp", "magnitude_ema_beta"):  # the layers store what they were built with
        if first is not None and name in first.state:
            kw[name] = _plain_number(first.state[name])
    if first is not None and _attr(first, "up_taps") and _attr(first, "up_factor"):
        kw["filter_size"] = int(_attr(first, "up_taps")) // int(_attr(first, "up_factor"))
    for name in ("first_cutoff", "first_stopband", "last_stopband_rel", "output_scale", "magnitude_ema_beta"):
        if name in kw:
            kw[name] = float(kw[name])
    fc0 = mapping.child("fc0")
    c_dim, embed_features = class_conditioning(G, state, int(_attr(G, "w_dim")), source)
    if embed_features is not None:
        raise ModelError(f"model file '{source}' has a class embedding of width {embed_features}; a StyleGAN3 "
                         f"generator embeds classes at w_dim ({_attr(G, 'w_dim')})")
    try:
        return StyleGAN3Config(c_dim=c_dim,
            z_dim=int(_attr(G, "z_dim")), w_dim=int(_attr(G, "w_dim")), img_resolution=int(_attr(G, "img_resolution")),
            img_channels=int(_attr(G, "img_channels", 3)),
            mapping_layers=sum(1 for k in state if re.fullmatch(r"mapping\.fc\d+\.weight", k)),
            mapping_lr_mul=float(_attr(fc0, "bias_gain", _attr(mapping, "lr_multiplier", 0.01))),
            w_avg_beta=float(_attr(mapping, "w_avg_beta", 0.998)), **kw)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"model file '{source}' describes a StyleGAN3 generator this code cannot build ({exc})") from None


def _check_design(config: StyleGAN3Config, synthesis: PersistentObject, source: str) -> None:
    """Every per-layer attribute the file stores equals the one our design procedure computes."""
    G = _meta_generator(config)
    for name in G.synthesis.layer_names:
        node, ours = synthesis.child(name), getattr(G.synthesis, name)
        if node is None:
            continue
        for attr in _CHECKED:
            theirs = node.state.get(attr)
            if theirs is None:
                continue
            a = np.asarray(theirs, dtype=np.float64).reshape(-1)
            b = np.broadcast_to(np.asarray(getattr(ours, attr), dtype=np.float64), a.shape)
            if not np.allclose(a, b, rtol=1e-6, atol=1e-9):
                raise ModelError(f"model file '{source}': layer {name} has {attr} {a.tolist()}, but config "
                                 f"{config} designs {b.tolist()}; its synthesis kwargs are not all recorded")


def extract_sg3(tree: dict, source: str = "network pickle") -> tuple[StyleGAN3Config, dict]:
    """(config, NVIDIA-named float32 state dict) of the pickle's StyleGAN3 G_ema (else G)."""
    G = tree.get("G_ema", tree.get("G"))
    if not isinstance(G, PersistentObject):
        raise ModelError(f"model file '{source}' has no generator network; its top level holds "
                         f"{', '.join(map(str, tree)) or 'nothing'}, expected G_ema")
    state = flat_state_dict(G)
    if G.child("mapping") is None or G.child("synthesis") is None or not is_stylegan3(state):
        raise ModelError(f"model file '{source}': G_ema is a {G.class_name} without StyleGAN3 mapping and "
                         "synthesis networks")
    config = _config(G, state, source)
    _check_design(config, G.child("synthesis"), source)
    return config, state


# --- building -----------------------------------------------------------------------------------------------------

def _meta_generator(config: StyleGAN3Config) -> StyleGAN3Generator:
    with torch.device("meta"):  # shapes only: every tensor comes from the file
        return StyleGAN3Generator(config)


def sg3_from_state(config: StyleGAN3Config, state: dict[str, torch.Tensor], source: str,
                   device: str | torch.device = "cpu") -> StyleGAN3Generator:
    """Our StyleGAN3Generator for `config` holding exactly `state` (same names and shapes, or a one-line ModelError)."""
    return fill_from_state(_meta_generator(config), state, source, f"a StyleGAN3 generator of config {config}",
                           device)


# --- our safetensors --------------------------------------------------------------------------------------------------

def save_stylegan3(G: StyleGAN3Generator, path: str | os.PathLike, metadata: dict | None = None) -> None:
    """Write `G` to `path` as `instrument.stylegan3` (one writer for both generations: weights.save_generator)."""
    from instrument.models.weights import save_generator
    save_generator(G, path, metadata)


def load_stylegan3(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[StyleGAN3Generator, dict]:
    """Read a generator written by `save_stylegan3`: (G in eval mode without grads, caller metadata)."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file '{path}' does not exist; check the path")
    meta, shapes = _read_header(path)
    if meta.get("format") != FORMAT:
        raise ModelError(f"model file '{path}' has format {meta.get('format')!r}, expected {FORMAT!r}; {_FIX}")
    try:
        config = StyleGAN3Config.from_dict(json.loads(meta["config"]))
    except (KeyError, ValueError, TypeError) as exc:
        raise ModelError(f"model file '{path}' has no valid StyleGAN3 config ({exc}); {_FIX}") from None
    expected = _meta_generator(config).state_dict()
    _check_tensors(path, shapes, expected)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            tensors = {name: f.get_tensor(name) for name in expected}
    except Exception as exc:
        raise ModelError(f"model file '{path}' could not be read ({_reason(exc)}); {_FIX}") from None
    for name, t in tensors.items():
        if not t.dtype.is_floating_point:
            raise ModelError(f"model file '{path}' has tensor '{name}' of dtype {t.dtype}, expected float; {_FIX}")
    return sg3_from_state(config, tensors, path.name, device), _decode_metadata(meta)


def describe_lines(config: StyleGAN3Config, num_ws: int) -> list[str]:
    """`instrument models` lines for a StyleGAN3 config."""
    specs = layer_specs(config)
    kind = "R (1x1 convs, radial filters)" if config.use_radial_filters else "T"
    return [
        f"resolution   {config.img_resolution}x{config.img_resolution}, {config.img_channels} channels",
        f"latents      z_dim {config.z_dim}, w_dim {config.w_dim}, num_ws {num_ws}, {conditioning_text(config)}",
        f"mapping      {config.mapping_layers} layers, lr_mul {config.mapping_lr_mul:g}",
        f"synthesis    StyleGAN3-{kind}, {len(specs)} layers {specs[0].name} .. {specs[-1].name}, "
        f"channel_base {config.channel_base}, channel_max {config.channel_max}, conv_clamp {config.conv_clamp}",
    ]
