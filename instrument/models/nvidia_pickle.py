"""NVIDIA network pickles (stylegan2-ada-pytorch `network-snapshot-*.pkl`) read as inert data, never as code.

A network pickle stores each module through `torch_utils.persistence`: a call to
`_reconstruct_persistent_obj(meta)` whose `meta` carries the module's Python source and its `__dict__`. Unpickling
it the usual way compiles and runs that source, and any pickle can name any callable. Here a restricted
`Unpickler` resolves only the handful of globals a network pickle needs (ALLOWED); the persistence call becomes a
`PersistentObject` data node whose `module_src` is kept as text and never compiled; storages are decoded by
`torch.load(weights_only=True)`. Anything else is refused with a `ModelError` naming the global.

    tree = read_network_pickle("ffhq.pkl")         # {'G_ema': PersistentObject, 'D': ..., ...}
    config, state = extract_generator(tree)        # GeneratorConfig, NVIDIA-named float32 state dict
    G, meta = load_nvidia_pickle("ffhq.pkl", "cpu")
"""

from __future__ import annotations

import collections
import io
import math
import os
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from instrument.errors import ModelError
from instrument.models.stylegan2 import ARCHITECTURES, Generator, GeneratorConfig

FORMAT = "nvidia-pickle"


@dataclass(eq=False)
class PersistentObject:
    """One `torch_utils.persistence` module as plain data: class name, source text (never run), `__dict__`."""

    class_name: str
    state: dict
    version: int = 0
    module_src: str = field(default="", repr=False)

    def __setstate__(self, state) -> None:  # BUILD on a node would let a pickle rewrite it
        raise ModelError("a network pickle tried to set the state of a persistent object; it is not a "
                         "network pickle this reader understands")

    def get(self, key: str, default=None):
        return self.state.get(key, default)

    def child(self, name: str) -> PersistentObject | None:
        return (self.state.get("_modules") or {}).get(name)


class _EasyDict(dict):
    """Stand-in for `dnnlib.util.EasyDict` (a dict with attribute access); becomes a plain dict."""

    def __setstate__(self, state) -> None:
        if state not in (None, {}):
            raise ModelError(f"a dnnlib.util.EasyDict in the pickle carries unexpected state {type(state).__name__}")


# --- the globals a network pickle may name --------------------------------------------------------------------

def _reconstruct_persistent_obj(meta) -> PersistentObject:
    if not isinstance(meta, dict) or meta.get("type") != "class":
        raise ModelError(f"persistent object meta is {type(meta).__name__} of type "
                         f"{meta.get('type') if isinstance(meta, dict) else '?'}, expected a 'class' record")
    name, state = meta.get("class_name"), meta.get("state")
    if not isinstance(name, str) or not isinstance(state, dict):
        raise ModelError("persistent object meta lacks a class_name string or a state dict")
    src = meta.get("module_src")
    return PersistentObject(name, state, int(meta.get("version", 0)), src if isinstance(src, str) else "")


def _load_from_bytes(data) -> torch.storage.TypedStorage:
    """One storage from a legacy `torch.save` byte stream, through torch's weights-only unpickler."""
    if not isinstance(data, (bytes, bytearray)):
        raise ModelError(f"storage data is {type(data).__name__}, expected bytes")
    try:
        storage = torch.load(io.BytesIO(bytes(data)), weights_only=True, map_location="cpu")
    except Exception as exc:
        raise ModelError(f"a tensor storage in the pickle could not be decoded safely ({torch_load_reason(exc)})"
                         ) from None
    if not isinstance(storage, torch.storage.TypedStorage):
        raise ModelError(f"a tensor storage decoded to {type(storage).__name__}, expected a storage")
    return storage


def _is_int_tuple(x) -> bool:
    return isinstance(x, (tuple, list)) and all(isinstance(v, int) and v >= 0 for v in x)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None) -> torch.Tensor:
    """torch's `_rebuild_tensor_v2` with every argument checked; hooks and metadata are dropped."""
    if not isinstance(storage, torch.storage.TypedStorage):
        raise ModelError(f"tensor rebuild got a {type(storage).__name__} where a storage belongs")
    if not (isinstance(storage_offset, int) and _is_int_tuple(size) and _is_int_tuple(stride)
            and len(size) == len(stride)):
        raise ModelError(f"tensor rebuild got offset {storage_offset!r}, size {size!r}, stride {stride!r}; "
                         "expected non-negative integers")
    numel = storage._untyped_storage.nbytes() // torch.empty((), dtype=storage.dtype).element_size()
    last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else storage_offset - 1
    if storage_offset < 0 or last >= numel:
        raise ModelError(f"tensor of size {list(size)} reaches element {last}, past its storage of {numel} elements")
    t = torch.empty((0,), dtype=storage.dtype)
    return t.set_(storage._untyped_storage, storage_offset, tuple(size), tuple(stride))


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None) -> torch.Tensor:
    if not isinstance(data, torch.Tensor):
        raise ModelError(f"parameter rebuild got a {type(data).__name__} where a tensor belongs")
    return data


def _numpy_scalar(dtype, data=None):
    if not isinstance(dtype, np.dtype) or dtype.hasobject or not isinstance(data, bytes):
        raise ModelError(f"numpy scalar of dtype {dtype!r} is not a plain number")
    return np.frombuffer(data, dtype=dtype, count=1)[0]


def _numpy_reconstruct(subtype, shape, dtype_code):
    if subtype is not np.ndarray:
        raise ModelError(f"numpy array rebuild of {subtype!r}; only numpy.ndarray is allowed")
    return np.ndarray.__new__(np.ndarray, shape, dtype_code)


def _latin1(text, encoding="latin1") -> bytes:
    """How protocol 2 writes bytes: _codecs.encode(str, 'latin1')."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise ModelError(f"_codecs.encode of {type(text).__name__} as {encoding!r}; only latin1 text is allowed")
    return text.encode("latin1")


def _set(items=()) -> set:
    return set(items)


def _slice(*args) -> slice:
    return slice(*args)


class _Allowed:
    """A resolved global: callable, but with no state a pickle's BUILD could overwrite."""

    __slots__ = ("_fn",)

    def __init__(self, fn):
        self._fn = fn

    def __call__(self, *args):
        return self._fn(*args)

    def __setstate__(self, state):
        raise ModelError("a network pickle tried to set the state of a function; it may be malicious")


ALLOWED = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _Allowed(_reconstruct_persistent_obj),
    ("torch.storage", "_load_from_bytes"): _Allowed(_load_from_bytes),
    ("torch._utils", "_rebuild_tensor_v2"): _Allowed(_rebuild_tensor_v2),
    ("torch._utils", "_rebuild_parameter"): _Allowed(_rebuild_parameter),
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("dnnlib.util", "EasyDict"): _EasyDict,
    ("dnnlib", "EasyDict"): _EasyDict,
    ("numpy", "dtype"): np.dtype,
    ("numpy", "ndarray"): np.ndarray,
    ("builtins", "set"): _Allowed(_set),
    ("builtins", "slice"): _Allowed(_slice),
    ("_codecs", "encode"): _Allowed(_latin1),
}
for _core in ("numpy.core.multiarray", "numpy._core.multiarray"):
    ALLOWED[(_core, "scalar")] = _Allowed(_numpy_scalar)
    ALLOWED[(_core, "_reconstruct")] = _Allowed(_numpy_reconstruct)
PY2_MODULES = {"__builtin__": "builtins"}  # protocol 2 pickles from Python 3 name builtins this way


class SafeUnpickler(pickle.Unpickler):
    """Unpickler that resolves only ALLOWED globals and no persistent ids."""

    def __init__(self, file, source: str):
        super().__init__(file)
        self.source = source

    def find_class(self, module: str, name: str):
        found = ALLOWED.get((PY2_MODULES.get(module, module), name))
        if found is None:
            raise ModelError(f"refusing to load '{self.source}': it references {module}.{name}, which a network "
                             f"pickle never needs; the file may be malicious")
        return found

    def persistent_load(self, pid):
        raise ModelError(f"refusing to load '{self.source}': it uses persistent ids (saved with torch.save?); "
                         "a network pickle is written with pickle.dump")


# --- reading ----------------------------------------------------------------------------------------------------

def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def torch_load_reason(exc: BaseException) -> str:
    """The informative line of a `torch.load(weights_only=True)` error (the global it refused), else the first."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    named = [line for line in lines if "GLOBAL" in line or "Unsupported" in line]
    return (named or lines or [type(exc).__name__])[0]


def _plain(x):
    """EasyDict stand-ins -> dict, recursively through containers and persistent objects."""
    if isinstance(x, PersistentObject):
        x.state = _plain(x.state)
        return x
    if isinstance(x, dict):
        items = ((k, _plain(v)) for k, v in x.items())
        return collections.OrderedDict(items) if isinstance(x, collections.OrderedDict) else dict(items)
    if isinstance(x, (list, tuple)):
        return type(x)(_plain(v) for v in x)
    return x


def read_network_pickle(path: str | os.PathLike) -> dict:
    """The top-level dict of a network pickle as plain data (no code from the file runs)."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file '{path}' does not exist; check the path")
    try:
        with open(path, "rb") as f:
            tree = SafeUnpickler(f, path.name).load()
    except ModelError:
        raise
    except Exception as exc:  # truncated file, bad opcode, a refused call's TypeError...
        raise ModelError(f"model file '{path}' is not a readable network pickle ({_first_line(exc)})") from None
    if not isinstance(tree, dict):
        raise ModelError(f"model file '{path}' holds a {type(tree).__name__}, expected the dict of networks "
                         "a network pickle has (G, D, G_ema, ...)")
    return _plain(tree)


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
