"""Training checkpoints: one safetensors file with every tensor a run needs to continue exactly, never a pickle.

File layout (`instrument.train.image`):
    tensors   "G.<name>", "D.<name>", "G_ema.<name>"   state_dicts of the three networks
              "G_opt.<i>.<key>", "D_opt.<i>.<key>"    Adam state per parameter index (exp_avg, exp_avg_sq, step)
              "rng.train", "rng.torch_cpu"            torch.Generator states (uint8), the run's only randomness
    metadata  "format": "instrument.train.image"
              "state": json with step, nimg, the options, the generator config, the optimizers' param_groups
                       and the GradScalers' scalar state
The file is written to a temporary name and renamed, so an interrupted save leaves the previous checkpoint intact.
`StopFlag` turns the first ^C into "finish the step, save a checkpoint, stop" (a second ^C aborts).
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

import torch
from instrument.errors import InstrumentError
from instrument.models.weights import read_safetensors, write_safetensors

FORMAT = "instrument.train.image"
CHECKPOINT_NAME = "checkpoint.safetensors"


class CheckpointError(InstrumentError):
    """A training checkpoint that cannot be read or does not match the run it should continue."""


def _cpu(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to("cpu").contiguous().clone()


def _optimizer_tensors(prefix: str, opt: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    out = {}
    for index, state in opt.state_dict()["state"].items():
        for key, value in state.items():
            out[f"{prefix}.{index}.{key}"] = _cpu(torch.as_tensor(value))
    return out


def save_checkpoint(path: Path, modules: dict[str, torch.nn.Module], optimizers: dict[str, torch.optim.Optimizer],
                    generators: dict[str, torch.Generator], state: dict) -> None:
    """Write networks, optimizer state, RNG states and the JSON-able `state` to `path` atomically."""
    tensors: dict[str, torch.Tensor] = {}
    for name, module in modules.items():
        tensors.update({f"{name}.{k}": _cpu(v) for k, v in module.state_dict().items()})
    for name, opt in optimizers.items():
        tensors.update(_optimizer_tensors(name, opt))
        state[f"{name}_param_groups"] = opt.state_dict()["param_groups"]
    tensors.update({f"rng.{name}": g.get_state() for name, g in generators.items()})
    write_safetensors(tensors, path, {"format": FORMAT, "state": json.dumps(state)})


def resolve(path: str | Path) -> Path:
    """A checkpoint file, or a run folder holding CHECKPOINT_NAME."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.is_file():
        raise CheckpointError(f"checkpoint '{path}' does not exist; pass a run folder or its {CHECKPOINT_NAME}")
    return path


def read_checkpoint(path: str | Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """(state JSON, all tensors) of a checkpoint written by `save_checkpoint`."""
    path = resolve(path)
    meta, tensors = read_safetensors(path, "checkpoint", CheckpointError)
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint '{path}' has format {meta.get('format')!r}, expected {FORMAT!r}; "
                              f"to start from a generator file use it as a model, not --resume")
    return json.loads(meta["state"]), tensors


def with_prefix(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    n = len(prefix) + 1
    return {k[n:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


def restore(state: dict, tensors: dict[str, torch.Tensor], modules: dict[str, torch.nn.Module],
            optimizers: dict[str, torch.optim.Optimizer], generators: dict[str, torch.Generator]) -> None:
    """Load everything `save_checkpoint` wrote back into live objects (same architecture required)."""
    for name, module in modules.items():
        try:
            module.load_state_dict(with_prefix(tensors, name), strict=True)
        except RuntimeError as e:
            raise CheckpointError(f"checkpoint network '{name}' does not fit this run's architecture "
                                  f"({str(e).splitlines()[0]})") from None
    for name, opt in optimizers.items():
        per_param: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in with_prefix(tensors, name).items():
            index, field = key.split(".", 1)
            per_param.setdefault(int(index), {})[field] = value
        opt.load_state_dict({"state": per_param, "param_groups": state[f"{name}_param_groups"]})
    for name, g in generators.items():
        g.set_state(tensors[f"rng.{name}"])


class StopFlag:
    """SIGINT sets it; the loop finishes its step, saves a checkpoint and stops (a second ^C kills at once)."""

    def __init__(self):
        self.set, self._previous = False, None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.set:
            raise KeyboardInterrupt
        self.set = True
        print("interrupt: saving a checkpoint after this step (^C again to abort)", file=sys.stderr, flush=True)

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


class TrainingInterrupted(InstrumentError):
    """SIGINT stopped the run after a checkpoint was saved."""
