"""Generator weights on disk: safetensors with NVIDIA-named tensors and a JSON config in the metadata.

File layout (`instrument.stylegan2`):
    tensors   every entry of `Generator.state_dict()` (parameters and persistent buffers), float32
    metadata  "format": "instrument.stylegan2"
              "config": json of GeneratorConfig.to_dict()
              any caller entries, each value json-encoded (decoded again by `load_generator`)

Only safetensors is read or written -- never pickle / torch.load -- so a model file cannot run code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from instrument.errors import ModelError
from instrument.models.stylegan2 import Generator, GeneratorConfig

FORMAT = "instrument.stylegan2"
RESERVED_KEYS = ("format", "config")
_FIX = "was it written by 'instrument convert'?"


def save_generator(G: Generator, path: str | os.PathLike, metadata: dict | None = None) -> None:
    """Write `G` to `path` (written to a temporary file first, then renamed into place)."""
    from instrument.models import sg3_pickle  # lazy: it imports this module
    fmt = sg3_pickle.FORMAT if isinstance(G, sg3_pickle.StyleGAN3Generator) else FORMAT
    meta = {"format": fmt, "config": json.dumps(G.config.to_dict(), sort_keys=True)}
    for key, value in (metadata or {}).items():
        if key in RESERVED_KEYS:
            raise ValueError(f"metadata key {key!r} is reserved; use a different name")
        meta[str(key)] = json.dumps(value)
    tensors = {name: t.detach().to("cpu", torch.float32).contiguous() for name, t in G.state_dict().items()}
    write_safetensors(tensors, path, meta)


def read_safetensors(path: Path, what: str, error=ModelError) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    """(metadata, every tensor) of a safetensors file; an unreadable file is one `error` naming `what` and path."""
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            return f.metadata() or {}, {name: f.get_tensor(name) for name in f.keys()}
    except Exception as e:  # safetensors raises its own error types
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise error(f"{what} '{path}' is not a readable safetensors file ({first})") from None


def write_safetensors(tensors: dict[str, torch.Tensor], path: str | os.PathLike, metadata: dict[str, str]) -> None:
    """Write tensors + string metadata to `path` through a temporary file renamed into place, so a crash or a
    full disk never leaves a half-written model behind."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        save_file(tensors, str(tmp), metadata=metadata)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _reason(exc: Exception) -> str:
    """First line of an exception message, for one-line ModelErrors."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _read_header(path: Path) -> tuple[dict[str, str], dict[str, list[int]]]:
    """(metadata, {tensor name: shape}) without reading tensor data."""
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = dict(f.metadata() or {})
            shapes = {name: list(f.get_slice(name).get_shape()) for name in f.keys()}
    except Exception as exc:  # safetensors raises its own error types, plus OSError/ValueError
        raise ModelError(f"model file '{path}' is not a readable safetensors file ({_reason(exc)}); "
                         f"re-download it or write it again with 'instrument convert'") from None
    return meta, shapes


def _config_from_meta(path: Path, meta: dict[str, str]) -> GeneratorConfig:
    fmt = meta.get("format")
    if fmt != FORMAT:
        raise ModelError(f"model file '{path}' has format {fmt!r}, expected {FORMAT!r}; {_FIX}")
    try:
        return GeneratorConfig.from_dict(json.loads(meta["config"]))
    except (KeyError, ValueError, TypeError) as exc:
        raise ModelError(f"model file '{path}' has no valid generator config ({exc}); {_FIX}") from None


def _check_tensors(path: Path, shapes: dict[str, list[int]], expected: dict[str, torch.Tensor]) -> None:
    """Same names and shapes as the generator the config describes, or a ModelError naming the first gap."""
    for name, ref in expected.items():
        if name not in shapes:
            raise ModelError(f"model file '{path}' is missing tensor '{name}'; {_FIX}")
        if shapes[name] != list(ref.shape):
            raise ModelError(f"model file '{path}' has tensor '{name}' of shape {shapes[name]}, "
                             f"expected {list(ref.shape)} for its config; {_FIX}")
    for name in shapes:
        if name not in expected:
            raise ModelError(f"model file '{path}' has unexpected tensor '{name}'; {_FIX}")


def _decode_metadata(meta: dict[str, str]) -> dict:
    out = {}
    for key, value in meta.items():
        if key in RESERVED_KEYS:
            continue
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value  # written by another tool: keep the raw string
    return out


def load_generator(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[Generator, dict]:
    """Read a generator written by `save_generator`: (G in eval mode without grads, caller metadata)."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file '{path}' does not exist; check the path, or create one with "
                         f"'instrument convert'")
    meta, shapes = _read_header(path)
    if meta.get("format") == "instrument.stylegan3":
        from instrument.models import sg3_pickle
        return sg3_pickle.load_stylegan3(path, device)
    config = _config_from_meta(path, meta)
    with torch.device("meta"):  # shapes only: skip the random init, the file provides every tensor
        G = Generator(config)
    expected = G.state_dict()
    _check_tensors(path, shapes, expected)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            tensors = {name: f.get_tensor(name) for name in expected}
    except Exception as exc:
        raise ModelError(f"model file '{path}' could not be read ({_reason(exc)}); re-download it or write "
                         f"it again with 'instrument convert'") from None
    for name, t in tensors.items():
        if not t.dtype.is_floating_point:
            raise ModelError(f"model file '{path}' has tensor '{name}' of dtype {t.dtype}, expected float; {_FIX}")
        tensors[name] = t.to(torch.float32)
    G.load_state_dict(tensors, strict=True, assign=True)  # post-hooks rebuild the derived FIR buffers
    G.eval().requires_grad_(False)
    return G.to(device), _decode_metadata(meta)
