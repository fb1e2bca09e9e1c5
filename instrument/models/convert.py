"""`instrument convert` and `instrument models`: foreign checkpoints to our safetensors, and what a file holds.

    convert("ffhq.pkl", "ffhq.safetensors")   # NVIDIA network pickle, rosinality .pt, or our own .safetensors
    print(describe("ffhq.pkl"))               # format, networks, resolution, dims, channels per resolution

Every reader here is a safe one: a restricted unpickler, torch's weights-only loader, or safetensors.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path

import torch

from instrument.errors import InstrumentError, ModelError
from instrument.models import nvidia_pickle, rosinality, safe_unpickler
from instrument.models.conditioning import conditioning_text
from instrument.models.stylegan2 import Generator
from instrument.models.weights import load_generator, save_generator

SUFFIXES = {".pkl": "nvidia-pickle", ".pt": "rosinality", ".pth": "rosinality", ".safetensors": "safetensors"}


def file_format(path: Path) -> str:
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise ModelError(f"model file '{path}' has suffix '{path.suffix}'; expected one of {', '.join(SUFFIXES)}")
    return fmt


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_any(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[Generator, dict]:
    """(G, metadata) from a .pkl, .pt/.pth or .safetensors file, chosen by suffix."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file '{path}' does not exist; check the path")
    fmt = file_format(path)
    if fmt == "nvidia-pickle":
        return nvidia_pickle.load_nvidia_pickle(path, device)
    if fmt == "rosinality":
        return rosinality.load_rosinality(path, device)
    G, meta = load_generator(path, device)
    return G, {"format": "safetensors", **meta}


def convert(in_path: str | os.PathLike, out_path: str | os.PathLike) -> dict:
    """Write `in_path`'s generator to `out_path` as our safetensors; returns the metadata written."""
    in_path, out_path = Path(in_path), Path(out_path)
    if out_path.suffix != ".safetensors":
        raise ModelError(f"output '{out_path}' must end in .safetensors")
    if out_path.resolve() == in_path.resolve():
        raise ModelError(f"output '{out_path}' is the input file; choose another name")
    G, meta = load_any(in_path)
    written = {"name": in_path.stem, "source": in_path.name, "source_sha256": sha256(in_path),
               "source_format": meta.get("format", "unknown")}
    if "w_avg" in meta:
        written["w_avg"] = meta["w_avg"]
    save_generator(G, out_path, written)
    return written


# --- describe -----------------------------------------------------------------------------------------------------

def _config_lines(config, num_ws: int) -> list[str]:
    if hasattr(config, "num_layers"):
        from instrument.models import sg3_pickle
        return sg3_pickle.describe_lines(config, num_ws)
    resolutions = [2 ** i for i in range(2, config.img_resolution.bit_length())]
    channels = ", ".join(f"{r}: {config.channels(r)}" for r in resolutions)
    return [
        f"resolution   {config.img_resolution}x{config.img_resolution}, {config.img_channels} channels",
        f"latents      z_dim {config.z_dim}, w_dim {config.w_dim}, num_ws {num_ws}, {conditioning_text(config)}",
        f"mapping      {config.mapping_layers} layers, lr_mul {config.mapping_lr_mul:g}{_embed_text(config)}",
        f"channels     {channels} (channel_base {config.channel_base}, channel_max {config.channel_max})",
        f"synthesis    architecture {config.architecture}, fp16 in the top {config.num_fp16_res} resolutions, "
        f"conv_clamp {config.conv_clamp}",
    ]


def _embed_text(config) -> str:
    if not getattr(config, "c_dim", 0):
        return ""
    features = config.embed_features if config.embed_features is not None else config.w_dim
    return f", class embedding {config.c_dim} -> {features}"


def _num_ws(config) -> int:
    if hasattr(config, "num_layers"):  # StyleGAN3: one w per layer, plus the input's and to-RGB's
        return config.num_layers + 2
    with torch.device("meta"):
        return Generator(config).num_ws


def _describe_pickle(path: Path) -> list[str]:
    tree = safe_unpickler.read_network_pickle(path)
    nets = ", ".join(f"{k} ({v.class_name})" if isinstance(v, safe_unpickler.PersistentObject) else
                     f"{k} ({type(v).__name__})" for k, v in tree.items())
    lines = [f"networks     {nets}"]
    config, _ = nvidia_pickle.extract_generator(tree, path.name)
    return lines + _config_lines(config, _num_ws(config))


def _describe_rosinality(path: Path) -> list[str]:
    ckpt = rosinality.read_checkpoint(path)
    args = rosinality.plain_args(ckpt.get("args"))
    state = {k: v for k, v in ckpt["g_ema"].items() if isinstance(v, torch.Tensor)}
    config = rosinality.config_from_state(state, args, path.name)
    lines = [f"networks     {', '.join(map(str, ckpt))}",
             f"w_avg        {'latent_avg' if 'latent_avg' in ckpt else 'not saved (estimated on load)'}"]
    return lines + _config_lines(config, _num_ws(config))


def describe(path: str | os.PathLike) -> str:
    """What a model file holds, one fact per line, without building more than shapes."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file '{path}' does not exist; check the path")
    fmt = file_format(path)
    head = [f"{path.name}", f"format       {fmt}, {path.stat().st_size / 2 ** 20:.1f} MiB"]
    if fmt == "nvidia-pickle":
        return "\n".join(head + _describe_pickle(path))
    if fmt == "rosinality":
        return "\n".join(head + _describe_rosinality(path))
    G, meta = load_generator(path)
    extra = [f"source       {meta['source']} ({meta.get('source_format', '?')})"] if "source" in meta else []
    return "\n".join(head + extra + _config_lines(G.config, G.num_ws))


# --- entry points ---------------------------------------------------------------------------------------------------

def main_convert(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="instrument convert",
                                     description="convert a .pkl / .pt / .safetensors generator to our safetensors")
    parser.add_argument("input", help="NVIDIA network pickle, rosinality checkpoint, or .safetensors")
    parser.add_argument("-o", "--output", help="where to write (default: the input name with .safetensors)")
    args = parser.parse_args(argv)
    out = Path(args.output) if args.output else Path(args.input).with_suffix(".safetensors")
    return _run(lambda: print(f"wrote {out} from {convert(args.input, out)['source']}"))


def main_models(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="instrument models", description="describe what a model file holds")
    parser.add_argument("file", help=".pkl, .pt/.pth or .safetensors")
    args = parser.parse_args(argv)
    return _run(lambda: print(describe(args.file)))


def _run(action) -> int:
    try:
        action()
    except InstrumentError as e:
        print(f"instrument: error: {e}", file=sys.stderr)
        return 2
    return 0
