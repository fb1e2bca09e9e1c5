"""Network pickles built byte for byte the way stylegan2-ada-pytorch writes them, from our own small generators.

`torch_utils` and `dnnlib` cannot be imported here, so `FixturePickler` writes GLOBAL opcodes for stand-ins:
`Global(module, name)` is any global (importable or not, harmless or not), `Reduce(func, args)` is a call to one.
Every `module_src` is a snippet that, if anyone ever ran it, would write `marker` and raise.
"""

from __future__ import annotations

import argparse
import io
import math
import pickle
import struct
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from instrument.models.stylegan2 import Generator


class Global:
    """A global written as a GLOBAL opcode, whether or not it exists in this process."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __call__(self, *args):  # pickle requires reduce functions to be callable
        raise RuntimeError(f"{self.module}.{self.name} is a stand-in")


class Reduce:
    """`func(*args)` as a REDUCE opcode (then BUILD with `state`, when given)."""

    def __init__(self, func, args: tuple, state=None):
        self.func, self.args, self.state = func, args, state


class EasyDict(dict):
    """Pickles as dnnlib.util.EasyDict."""


PERSISTENT = Global("torch_utils.persistence", "_reconstruct_persistent_obj")
LOAD_FROM_BYTES = Global("torch.storage", "_load_from_bytes")
REBUILD_TENSOR = Global("torch._utils", "_rebuild_tensor_v2")
REBUILD_PARAMETER = Global("torch._utils", "_rebuild_parameter")
ALIASES = {EasyDict: ("dnnlib.util", "EasyDict")}


def legacy_storage_bytes(t: torch.Tensor) -> bytes:
    """What `TypedStorage.__reduce__` pickles: a legacy (non-zip) `torch.save` of the tensor's storage."""
    t = t.detach().contiguous().clone()
    storage = torch.storage.TypedStorage(wrap_storage=t.untyped_storage(), dtype=t.dtype, _internal=True)
    b = io.BytesIO()
    torch.save(storage, b, _use_new_zipfile_serialization=False)
    return b.getvalue()


def tensor_reduce(t: torch.Tensor) -> Reduce:
    t = t.detach().contiguous()
    storage = Reduce(LOAD_FROM_BYTES, (legacy_storage_bytes(t),))
    return Reduce(REBUILD_TENSOR, (storage, 0, tuple(t.shape), t.stride(), False, OrderedDict()))


class FixturePickler(pickle._Pickler):  # the Python pickler: its `save` can be extended
    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, Global) or (isinstance(obj, type) and obj in ALIASES):
            module, name = (obj.module, obj.name) if isinstance(obj, Global) else ALIASES[obj]
            self.write(pickle.GLOBAL + f"{module}\n{name}\n".encode())
            return
        super().save(obj, save_persistent_id)

    def reducer_override(self, obj):
        if isinstance(obj, Reduce):
            return (obj.func, obj.args) if obj.state is None else (obj.func, obj.args, obj.state)
        if isinstance(obj, nn.Parameter):
            return REBUILD_PARAMETER, (tensor_reduce(obj.data), False, OrderedDict())
        if isinstance(obj, torch.Tensor):
            r = tensor_reduce(obj)
            return r.func, r.args
        return NotImplemented


def dumps(obj, protocol: int = 4) -> bytes:
    f = io.BytesIO()
    FixturePickler(f, protocol=protocol).dump(obj)
    return f.getvalue()


def write_pickle(path: Path, obj, protocol: int = 4) -> Path:
    path.write_bytes(dumps(obj, protocol))
    return path


# --- a persistent module tree shaped like stylegan2-ada-pytorch's ------------------------------------------------

def evil_source(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').write('module_src ran')\nraise RuntimeError('module_src was executed')\n"


def persistent(class_name: str, marker: Path, params: dict, buffers: dict, children: dict, attrs: dict,
               init_kwargs: dict | None = None) -> Reduce:
    """One `torch_utils.persistence` module: the reduce its `__reduce__` returns, with an nn.Module `__dict__`."""
    state = {
        "training": False, "_parameters": OrderedDict((k, nn.Parameter(v.detach().clone(), requires_grad=False))
                                                      for k, v in params.items()),
        "_buffers": OrderedDict((k, v.detach().clone()) for k, v in buffers.items()),
        "_non_persistent_buffers_set": set(), "_backward_hooks": OrderedDict(), "_forward_hooks": OrderedDict(),
        "_forward_pre_hooks": OrderedDict(), "_state_dict_hooks": OrderedDict(),
        "_load_state_dict_pre_hooks": OrderedDict(), "_modules": OrderedDict(children),
        "_init_args": (), "_init_kwargs": EasyDict(init_kwargs or {}), **attrs,
    }
    meta = {"type": "class", "version": 6, "module_src": evil_source(marker), "class_name": class_name,
            "state": state}
    return Reduce(PERSISTENT, (meta,))


def _fc(layer, marker: Path, lr_mul: float = 1.0) -> Reduce:
    in_features = layer.weight.shape[1]
    attrs = {"activation": layer.activation, "weight_gain": lr_mul / np.sqrt(in_features), "bias_gain": lr_mul}
    return persistent("FullyConnectedLayer", marker, {"weight": layer.weight, "bias": layer.bias}, {}, {}, attrs)


def _layer(layer, marker: Path) -> Reduce:
    params = {"weight": layer.weight, "noise_strength": layer.noise_strength, "bias": layer.bias}
    buffers = {"resample_filter": layer.resample_filter, "noise_const": layer.noise_const}
    attrs = {"resolution": layer.resolution, "up": layer.up, "use_noise": True, "activation": "lrelu",
             "conv_clamp": layer.conv_clamp, "padding": 1, "act_gain": float(np.sqrt(2))}
    return persistent("SynthesisLayer", marker, params, buffers, {"affine": _fc(layer.affine, marker)}, attrs)


def _torgb(layer, marker: Path) -> Reduce:
    attrs = {"conv_clamp": layer.conv_clamp, "weight_gain": layer.weight_gain}
    return persistent("ToRGBLayer", marker, {"weight": layer.weight, "bias": layer.bias}, {},
                      {"affine": _fc(layer.affine, marker)}, attrs)


def _skip(layer, marker: Path) -> Reduce:
    """The resnet shortcut as NVIDIA's Conv2dLayer(kernel_size=1, bias=False, up=2): `bias` a plain None."""
    out_channels, in_channels = layer.weight.shape[:2]
    attrs = {"in_channels": in_channels, "out_channels": out_channels, "activation": "linear", "up": 2, "down": 1,
             "conv_clamp": None, "padding": 0, "weight_gain": 1 / np.sqrt(in_channels), "act_gain": 1.0,
             "bias": None}
    return persistent("Conv2dLayer", marker, {"weight": layer.weight}, {"resample_filter": layer.resample_filter},
                      {}, attrs)


def _block(block, res: int, cfg, marker: Path) -> Reduce:
    params = {"const": block.const} if block.in_channels == 0 else {}
    children = {"conv0": _layer(block.conv0, marker)} if block.in_channels else {}
    children["conv1"] = _layer(block.conv1, marker)
    if block.num_torgb:
        children["torgb"] = _torgb(block.torgb, marker)
    if hasattr(block, "skip"):
        children["skip"] = _skip(block.skip, marker)
    attrs = {"in_channels": block.in_channels, "w_dim": cfg.w_dim, "resolution": res, "img_channels": 3,
             "is_last": res == cfg.img_resolution, "architecture": cfg.architecture, "use_fp16": block.use_fp16,
             "channels_last": False, "num_conv": block.num_conv, "num_torgb": block.num_torgb}
    return persistent("SynthesisBlock", marker, params, {"resample_filter": block.resample_filter}, children, attrs)


def generator_tree(G: Generator, marker: Path) -> Reduce:
    """G as stylegan2-ada-pytorch pickles it (numpy scalars and EasyDict kwargs included)."""
    cfg, syn, mapping = G.config, G.synthesis, G.mapping
    blocks = {f"b{r}": _block(getattr(syn, f"b{r}"), r, cfg, marker) for r in syn.block_resolutions}
    syn_kwargs = EasyDict(channel_base=cfg.channel_base, channel_max=cfg.channel_max,
                          num_fp16_res=cfg.num_fp16_res, conv_clamp=cfg.conv_clamp, architecture=cfg.architecture)
    old_numpy = Reduce(Global("numpy.core.multiarray", "scalar"),
                       (np.dtype("int64"), struct.pack("<q", cfg.img_resolution)))
    synthesis = persistent("SynthesisNetwork", marker, {}, {}, blocks, {
        "w_dim": cfg.w_dim, "img_resolution": old_numpy, "img_resolution_log2": int(math.log2(cfg.img_resolution)),
        "img_channels": 3, "block_resolutions": syn.block_resolutions, "num_ws": syn.num_ws}, syn_kwargs)
    fcs = {"embed": _fc(mapping.embed, marker)} if cfg.c_dim else {}  # NVIDIA registers embed before fc0
    fcs.update({name: _fc(getattr(mapping, name), marker, cfg.mapping_lr_mul) for name in mapping.layer_names})
    mapping_node = persistent("MappingNetwork", marker, {}, {"w_avg": mapping.w_avg}, fcs, {
        "z_dim": cfg.z_dim, "c_dim": cfg.c_dim, "w_dim": cfg.w_dim, "num_ws": G.num_ws,
        "num_layers": cfg.mapping_layers, "w_avg_beta": cfg.w_avg_beta},
        EasyDict(num_layers=cfg.mapping_layers, embed_features=cfg.embed_features))
    return persistent("Generator", marker, {}, {}, {"synthesis": synthesis, "mapping": mapping_node}, {
        "z_dim": cfg.z_dim, "c_dim": cfg.c_dim, "w_dim": cfg.w_dim, "img_resolution": np.int64(cfg.img_resolution),
        "img_channels": 3, "num_ws": G.num_ws},
        EasyDict(z_dim=cfg.z_dim, c_dim=cfg.c_dim, w_dim=cfg.w_dim, img_resolution=cfg.img_resolution,
                 img_channels=3, mapping_kwargs=EasyDict(), synthesis_kwargs=syn_kwargs))


def network_pickle(G: Generator, path: Path, marker: Path, protocol: int = 4) -> Path:
    """A network-snapshot pickle: G, D (a stand-in), G_ema, augment_pipe, training_set_kwargs."""
    tree = generator_tree(G, marker)
    D = persistent("Discriminator", marker, {"b4.fc.weight": torch.ones(2, 2)}, {}, {}, {"img_resolution": 32})
    snapshot = {"G": tree, "D": D, "G_ema": tree, "augment_pipe": None,
                "training_set_kwargs": EasyDict(path="ffhq.zip", resolution=np.int64(G.img_resolution),
                                                max_size=None, xflip=False, mean=np.arange(3, dtype=np.float32))}
    return write_pickle(path, snapshot, protocol)


def legacy_stream(payload) -> bytes:
    """A legacy `torch.save` byte stream whose object pickle is `payload` (how a storage hides a payload)."""
    head = b"".join(pickle.dumps(x, protocol=2) for x in
                    (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": True}))
    return head + dumps(payload, protocol=2)


def rosinality_namespace(G: Generator) -> argparse.Namespace:
    cfg = G.config
    return argparse.Namespace(size=cfg.img_resolution, latent=cfg.w_dim, n_mlp=cfg.mapping_layers,
                              channel_multiplier=2, batch=4, iter=800000, path="lmdb/")
