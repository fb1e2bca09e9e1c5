"""The restricted unpickler: the one place an NVIDIA network pickle's bytes are read, as inert data, never as code.

A network pickle stores each module through `torch_utils.persistence`: a call to
`_reconstruct_persistent_obj(meta)` whose `meta` carries the module's Python source and its `__dict__`. Unpickling
it the usual way compiles and runs that source, and any pickle can name any callable. Here a restricted
`Unpickler` resolves only the handful of globals a network pickle needs (ALLOWED); the persistence call becomes a
`PersistentObject` data node whose `module_src` is kept as text and never compiled; storages are decoded by
`torch.load(weights_only=True)`. Anything else is refused with a `ModelError` naming the global.

It is kept apart from the conversion to our modules (`nvidia_pickle.py`) so that everything the rule "pickles are
never executed" rests on (the allowed globals, the checks on their arguments, the unpickler) is in one module.

    tree = read_network_pickle("ffhq.pkl")         # {'G_ema': PersistentObject, 'D': ..., ...}
"""

from __future__ import annotations

import collections
import io
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from instrument.errors import ModelError


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
