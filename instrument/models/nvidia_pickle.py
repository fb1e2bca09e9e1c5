"""NVIDIA network pickles (stylegan2-ada-pytorch `network-snapshot-*.pkl`) read as inert data, never as code.

`safe_unpickler` reads the file into plain data (no code from it runs); this module turns that tree into our
modules: the generator's tensors as a state dict, its config from the modules' attributes and the tensors' shapes,
and a Generator holding exactly those tensors.

    tree = read_network_pickle("ffhq.pkl")         # {'G_ema': PersistentObject, 'D': ..., ...}
    config, state = extract_generator(tree)        # GeneratorConfig, NVIDIA-named float32 state dict
    G, meta = load_nvidia_pickle("ffhq.pkl", "cpu")
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np
import torch

from instrument.errors import ModelError
from instrument.models.safe_unpickler import PersistentObject, read_network_pickle
from instrument.models.stylegan2 import ARCHITECTURES, Generator, GeneratorConfig

FORMAT = "nvidia-pickle"


def flat_state_dict(node: PersistentObject, prefix: str = "") -> dict[str, torch.Tensor]:
    """Parameters and persistent buffers of a module tree, named like `nn.Module.state_dict()`."""
    out: dict[str, torch.Tensor] = {}
    skip = set(node.get("_non_persistent_buffers_set") or ())
    for group in ("_parameters", "_buffers"):
        for name, t in (node.get(group) or {}).items():
            if t is not None and name not in skip:
                if not isinstance(t, torch.Tensor):
                    raise ModelError(f"'{prefix}{name}' is a {type(t).__name__}, expected a tensor")
                out[prefix + name] = t.detach().to(torch.float32).clone()
    for name, child in (node.get("_modules") or {}).items():
        if isinstance(child, PersistentObject):
            out.update(flat_state_dict(child, f"{prefix}{name}."))
        elif child is not None:
            raise ModelError(f"module '{prefix}{name}' is a {type(child).__name__}, not a network module")
    return out


# --- the generator inside ---------------------------------------------------------------------------------------

def _attr(node: PersistentObject | None, name: str, default=None):
    """An attribute of a module, else its init kwarg; numpy scalars become Python numbers."""
    if node is None:
        return default
    value = node.state.get(name, (node.get("_init_kwargs") or {}).get(name, default))
    return value.item() if isinstance(value, np.generic) else value


def channel_rule(channels: dict[int, int], source: str) -> tuple[int, int]:
    """(channel_base, channel_max) with min(channel_base // res, channel_max) == channels[res] at every res."""
    cmax = max(channels.values())
    candidates = sorted({ch * res for res, ch in channels.items()} | {cmax * max(channels)})
    for base in candidates:
        if all(min(base // res, cmax) == ch for res, ch in channels.items()):
            return base, cmax
    listed = ", ".join(f"{res}: {ch}" for res, ch in sorted(channels.items()))
    raise ModelError(f"model file '{source}' has channels per resolution {{{listed}}}, which follow no "
                     "channel_base / channel_max rule this generator can build")


def _architecture(synthesis: PersistentObject, state: dict[str, torch.Tensor], resolutions: list[int],
                  source: str) -> str:
    """'skip' (a torgb per block), 'orig' (the last block's only) or 'resnet' (the last's only, plus a 1x1 `skip`
    shortcut per upsampling block), read from the tensors and checked against the blocks' recorded attribute."""
    with_torgb = [r for r in resolutions if f"synthesis.b{r}.torgb.weight" in state]
    with_skip = [r for r in resolutions if f"synthesis.b{r}.skip.weight" in state]
    declared = _attr(synthesis.child(f"b{resolutions[-1]}"), "architecture", _attr(synthesis, "architecture"))
    if len(resolutions) == 1:
        return declared if declared in ARCHITECTURES else "skip"
    if with_torgb == resolutions and not with_skip:
        found = "skip"
    elif with_torgb == resolutions[-1:] and with_skip == resolutions[1:]:
        found = "resnet"
    elif with_torgb == resolutions[-1:] and not with_skip:
        found = "orig"
    else:
        raise ModelError(f"model file '{source}' has torgb layers at {with_torgb} and skip layers at {with_skip}, "
                         "which match no StyleGAN2 architecture (skip, orig, resnet)")
    if declared is not None and declared != found:
        raise ModelError(f"model file '{source}' records architecture {declared!r} but its tensors are those of "
                         f"{found!r}; the file is inconsistent")
    return found


def class_conditioning(G: PersistentObject, state: dict, w_dim: int, source: str) -> tuple[int, int | None]:
    """(c_dim, embed_features or None when it equals w_dim), from the `embed` layer's shape and the c_dim kwarg."""
    recorded = int(_attr(G, "c_dim", 0) or 0)
    embed = state.get("mapping.embed.weight")  # [embed_features, c_dim]
    if embed is None:
        if recorded:
            raise ModelError(f"model file '{source}' records c_dim={recorded} but has no mapping.embed layer; "
                             "the file is inconsistent")
        return 0, None
    if embed.ndim != 2 or (recorded and recorded != embed.shape[1]):
        raise ModelError(f"model file '{source}' has mapping.embed.weight of shape {list(embed.shape)}, expected "
                         f"[embed_features, c_dim={recorded}]")
    features = int(embed.shape[0])
    return int(embed.shape[1]), None if features == w_dim else features


def _check_supported(G: PersistentObject, state: dict, source: str) -> None:
    if G.class_name != "Generator" or G.child("mapping") is None or G.child("synthesis") is None:
        raise ModelError(f"model file '{source}': G_ema is a {G.class_name} without mapping and synthesis "
                         "networks; expected a StyleGAN2 Generator")


def _num_fp16_res(synthesis: PersistentObject, resolutions: list[int]) -> int:
    flags = [_attr(synthesis.child(f"b{r}"), "use_fp16") for r in resolutions]
    if all(isinstance(f, bool) for f in flags):
        return sum(flags)
    return int(_attr(synthesis, "num_fp16_res", 0) or 0)


def extract_generator(tree: dict, source: str = "network pickle") -> tuple[GeneratorConfig, dict]:
    """(config, NVIDIA-named float32 state dict) of the pickle's G_ema (else G)."""
    G = tree.get("G_ema", tree.get("G"))
    if not isinstance(G, PersistentObject):
        raise ModelError(f"model file '{source}' has no generator network; its top level holds "
                         f"{', '.join(map(str, tree)) or 'nothing'}, expected G_ema")
    state = flat_state_dict(G)
    from instrument.models import sg3_pickle  # lazy: sg3_pickle imports this module
    if sg3_pickle.is_stylegan3(state):
        return sg3_pickle.extract_sg3(tree, source)
    _check_supported(G, state, source)
    mapping, synthesis = G.child("mapping"), G.child("synthesis")
    res = int(_attr(G, "img_resolution"))
    resolutions = [2 ** i for i in range(2, int(math.log2(res)) + 1)]
    channels = {}
    for r in resolutions:
        if f"synthesis.b{r}.conv1.weight" not in state:
            raise ModelError(f"model file '{source}' lacks synthesis.b{r}.conv1.weight for its {res}x{res} output")
        channels[r] = state[f"synthesis.b{r}.conv1.weight"].shape[0]
    base, cmax = channel_rule(channels, source)
    fc0 = mapping.child("fc0")
    w_dim = int(_attr(G, "w_dim"))
    c_dim, embed_features = class_conditioning(G, state, w_dim, source)
    config = GeneratorConfig(
        z_dim=int(_attr(G, "z_dim")), w_dim=w_dim, c_dim=c_dim, embed_features=embed_features,
        mapping_layers=sum(1 for k in state if re.fullmatch(r"mapping\.fc\d+\.weight", k)),
        img_resolution=res, img_channels=int(_attr(G, "img_channels", 3)), channel_base=base, channel_max=cmax,
        architecture=_architecture(synthesis, state, resolutions, source),
        num_fp16_res=_num_fp16_res(synthesis, resolutions),
        conv_clamp=_attr(synthesis.child("b4").child("conv1"), "conv_clamp"),
        mapping_lr_mul=float(_attr(fc0, "bias_gain", _attr(mapping, "lr_multiplier", 0.01))),
        w_avg_beta=float(_attr(mapping, "w_avg_beta", 0.995)))
    return config, state


def generator_from_state(config: GeneratorConfig, state: dict[str, torch.Tensor], source: str,
                         device: str | torch.device = "cpu") -> Generator:
    """Our Generator for `config` holding exactly `state` (same names and shapes, or a one-line ModelError)."""
    from instrument.models import sg3_pickle
    if isinstance(config, sg3_pickle.StyleGAN3Config):
        return sg3_pickle.sg3_from_state(config, state, source, device)
    with torch.device("meta"):  # shapes only: every tensor comes from the file
        G = Generator(config)
    return fill_from_state(G, state, source, f"a generator of config {config}", device)


def fill_from_state(G: torch.nn.Module, state: dict[str, torch.Tensor], source: str, what: str,
                    device: str | torch.device = "cpu") -> torch.nn.Module:
    """Meta-device generator `G` given exactly `state`'s tensors (same names and shapes, else a one-line
    ModelError naming `source` and `what` was expected), in eval mode without grads, on `device`."""
    expected = G.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        first = f"is missing '{missing[0]}'" if missing else f"has unexpected '{unexpected[0]}'"
        raise ModelError(f"model file '{source}' {first} ({len(missing)} missing, {len(unexpected)} unexpected "
                         f"tensors) for {what}")
    for name, ref in expected.items():
        if list(state[name].shape) != list(ref.shape):
            raise ModelError(f"model file '{source}' has '{name}' of shape {list(state[name].shape)}, "
                             f"expected {list(ref.shape)}")
    G.load_state_dict({k: state[k].to(torch.float32) for k in expected}, strict=True, assign=True)
    G.eval().requires_grad_(False)
    return G.to(device)


def load_nvidia_pickle(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[Generator, dict]:
    """(G_ema as our Generator in eval mode, metadata about the file) from a network pickle."""
    tree = read_network_pickle(path)
    config, state = extract_generator(tree, Path(path).name)
    G = generator_from_state(config, state, Path(path).name, device)
    networks = {str(k): v.class_name if isinstance(v, PersistentObject) else type(v).__name__
                for k, v in tree.items()}
    return G, {"format": FORMAT, "networks": networks}
