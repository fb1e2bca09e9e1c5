"""What each frame of an offline re-render shows: the z-log, the model it was played with, and one `Shot` per frame.

`rows` mode replays the recovered rows as they were played; `events` mode re-simulates them with a fresh conductor
(the logged seed, the logged actions, the rows' parameters interpolated at each output time). Kept apart from the
frame loop (frames.py) because the timbre voice (sound.py) walks the same shots without drawing anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from instrument.errors import InstrumentError, ModelError
from instrument.latent.conductor import Action, Conductor, LatentFrame
from instrument.models.convert import sha256
from instrument.models.loader import LoadedModel, bundled_weights, load_model
from instrument.models.stylegan2 import GeneratorConfig, make_generator
from instrument.params import PARAMS, ParamStore
from instrument.record.conform import black_mask
from instrument.record.zlog import ZlogReader


@dataclass
class Shot:
    """One output frame's inputs: the generator's LatentFrame, the parameter vector (log order), the row."""
    latent: LatentFrame
    params: np.ndarray   # [n_params] float64, header `params` order
    row: int             # recovered row number this frame shows (events mode: the row at or before its time)
    dt_s: float          # time since the previous output frame (s), for the fx smoothing
    black: float = 0.0   # conform black level: 0 picture, 1 black (conform.black_mask)


# ---- inputs -----------------------------------------------------------------------------------------------------
def open_log(path) -> ZlogReader:
    reader = ZlogReader(path)
    if reader.recovered == 0:
        reader.close()
        raise InstrumentError(f"z-log '{path}' has no rows to render; was anything played while recording?")
    return reader


def resolve_model(header: dict, spec, device: torch.device) -> LoadedModel:
    """The model to render with: `spec` (a path, any snapshot) or else the logged one when it can be found."""
    logged = header["model"]
    if isinstance(spec, LoadedModel):
        loaded = spec
    elif spec is None:
        return _logged_model(logged, device)
    else:
        loaded = load_model(str(spec), device)
    G = loaded.generator
    if (G.z_dim, G.num_ws) != (header["z_dim"], header["num_ws"]):
        raise ModelError(f"model '{spec}' has z_dim {G.z_dim} / num_ws {G.num_ws} but the z-log needs "
                         f"z_dim {header['z_dim']} / num_ws {header['num_ws']}; pick a snapshot of the same network")
    return loaded


def _logged_model(logged: dict, device: torch.device) -> LoadedModel:
    sha = logged["sha256"]
    if sha.startswith("random:"):  # an untrained generator is rebuilt exactly from its config and seed
        config = GeneratorConfig.from_dict(logged["config"])
        G = make_generator(config, int(sha.split(":", 1)[1])).to(device)
        return LoadedModel(G, logged["name"], sha, config, trained=False)
    bundled = bundled_weights()
    if bundled is not None and sha256(bundled) == sha:
        return load_model(None, device)
    raise ModelError(f"the z-log was played with model '{logged['name']}' (sha256 {sha[:12]}...), which is not "
                     "the bundled one; pass --model PATH to that file or to any snapshot of it")


# ---- rows and events ----------------------------------------------------------------------------------------------
def row_shots(reader: ZlogReader):
    """Rows mode: every recovered row as it was played."""
    t, black = reader.rows()["t"], black_mask(reader)
    for i in range(reader.recovered):
        yield Shot(reader.latent_frame(i), reader.rows()["params"][i], i, float(t[i] - t[i - 1]) if i else 0.0,
                   float(black[i]))


def output_times(reader: ZlogReader, fps: float) -> np.ndarray:
    """Events mode: conductor times of the output frames, from the first row's t at 1/fps steps to the last row."""
    t = reader.rows()["t"]
    n = int(math.floor(float(t[-1] - t[0]) * fps + 1e-6)) + 1
    return t[0] + np.arange(n) / fps


def logged_actions(reader: ZlogReader) -> list[tuple[float, Action]]:
    """(conductor time, Action) for every logged performer action: its own t, else the t of the frame it preceded."""
    rows = reader.rows()
    out = []
    for e in reader.events():
        if "action" not in e.data:
            continue  # parameter changes: the rows carry every parameter value
        when = e.t
        if not math.isfinite(when):
            k = int(np.searchsorted(rows["index"], max(e.frame, 0)))
            when = float(rows["t"][min(k, len(rows) - 1)]) if e.frame >= 0 else -math.inf
        out.append((when, Action(str(e.data["action"]), tuple(e.data.get("args", ())))))
    return sorted(out, key=lambda pair: pair[0])


def event_shots(reader: ZlogReader, fps: float):
    """Events mode: a fresh conductor with the logged seed, stepped at `fps`, fed the logged actions and the
    rows' parameters interpolated at each output time (floats linearly, the rest held from the row before)."""
    h, rows = reader.header, reader.rows()
    store = ParamStore(PARAMS)
    slots, cols = _shared_params(h, store)
    params_at = _param_interpolator(h, rows)
    store.values[slots] = params_at(rows["t"][0])[cols]
    conductor = Conductor(store, h["z_dim"], h["num_ws"], h["seed"])
    actions, next_action, t_prev, black = logged_actions(reader), 0, 0.0, black_mask(reader)
    for t in output_times(reader, fps):
        while next_action < len(actions) and actions[next_action][0] <= t + 1e-9:
            conductor.post(actions[next_action][1])
            next_action += 1
        values = params_at(t)
        store.values[slots] = values[cols]
        row = max(int(np.searchsorted(rows["t"], t, side="right")) - 1, 0)
        yield Shot(conductor.step(float(t), float(t - t_prev)), values, row, float(t - t_prev), float(black[row]))
        t_prev = t


def _shared_params(header: dict, store: ParamStore) -> tuple[np.ndarray, np.ndarray]:
    names = [p["name"] for p in header["params"]]
    shared = [n for n in names if n in store.index]
    return np.array([store.index[n] for n in shared], int), np.array([names.index(n) for n in shared], int)


def _param_interpolator(header: dict, rows: np.ndarray):
    t, values = rows["t"], rows["params"]
    is_float = np.array([p["kind"] == "float" for p in header["params"]])

    def at(time_s: float) -> np.ndarray:
        k = int(np.clip(np.searchsorted(t, time_s, side="right") - 1, 0, len(t) - 1))
        if k + 1 >= len(t) or t[k + 1] <= t[k]:
            return values[k].copy()
        u = min(max((time_s - t[k]) / (t[k + 1] - t[k]), 0.0), 1.0)
        return np.where(is_float, values[k] + u * (values[k + 1] - values[k]), values[k])
    return at
