"""Proxy videos for editing: random samples, neighbourhoods of chosen frames, short journeys between them.

Each proxy is a z-log (rows whose latents are the samples) plus its re-render, so an editor can cut the video and
a conform maps every cut frame back to a row (row-index code + sidecar CSV) and so to its exact latents.
The header's `derived_from` names the source log and rows (readers ignore keys they do not know).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from instrument.errors import InstrumentError
from instrument.latent.conductor import LatentFrame
from instrument.latent.interp import lerp, slerp, smoothstep, to_shell
from instrument.models.loader import load_model, pick_device
from instrument.params import PARAMS, ParamStore
from instrument.record.frames import RenderResult
from instrument.record.render import OneLineParser, render
from instrument.record.replay import open_log, resolve_model
from instrument.record.writer import ZlogWriter
from instrument.record.zlog import header_for_model

PARAMS_INDEX = {p.name: i for i, p in enumerate(PARAMS)}


@dataclass
class Proxy:
    log: Path          # the z-log of the proxy's rows
    video: Path        # its re-render
    rows: int
    render: RenderResult


def explore(samples: int, out_dir, model=None, seed: int = 0, fps: float = 30.0, size=None, device: str = "auto",
            progress: bool = False) -> Proxy:
    """`samples` random latents (one per frame, source A only, default truncation) as explore.zlog + explore.mp4."""
    _check_count("samples", samples)
    out, dev = _out_dir(out_dir), pick_device(device)
    loaded = load_model(None if model is None else str(model), dev)
    G = loaded.generator
    rng = np.random.default_rng(seed)
    values = ParamStore(PARAMS).values
    frames = [_frame(k, k / fps, to_shell(rng.standard_normal(G.z_dim)), G.num_ws, values) for k in range(samples)]
    header = header_for_model(loaded, seed, fps)
    header["derived_from"] = {"explore": {"seed": int(seed), "samples": int(samples)}}
    return _proxy(out / "explore", header, [(f, values) for f in frames], loaded, size, dev, progress)


def around(log, rows, noise_sigma: float, samples: int, out_dir, model=None, seed: int = 0, fps=None, size=None,
           device: str = "auto", progress: bool = False) -> Proxy:
    """For each chosen row: the row itself, then `samples - 1` neighbours (z + noise_sigma * N(0, 1), on the shell)."""
    _check_count("samples", samples)
    if not noise_sigma >= 0:
        raise InstrumentError(f"noise sigma must be >= 0, got {noise_sigma}")
    out, dev, rng = _out_dir(out_dir), pick_device(device), np.random.default_rng(seed)
    with open_log(log) as reader:
        rows = _check_rows(reader, rows)
        loaded, rate = resolve_model(reader.header, model, dev), float(fps or reader.header["fps_hint"])
        shots = []
        for r in rows:
            base, values = reader.latent_frame(r), reader.rows()["params"][r].copy()
            for k in range(samples):
                z = base.z.astype(np.float64) + (noise_sigma * rng.standard_normal(base.z.shape) if k else 0.0)
                n = len(shots)
                shots.append((LatentFrame(n, n / rate, to_shell(z).astype(np.float32), base.mix.copy(), base.psi,
                                          base.cutoff, base.noise_mode, base.noise_seed, base.directions.copy(),
                                          base.direction_layers), values))
        header = _derived_header(reader, loaded, seed, rate, {"around": {"rows": rows, "sigma": noise_sigma,
                                                                        "samples": samples}})
    return _proxy(out / "around", header, shots, loaded, size, dev, progress)


def journeys(log, rows, count: int, keys: int = 2, seconds: float = 4.0, out_dir=".", model=None, seed: int = 0,
             fps=None, size=None, device: str = "auto", progress: bool = False) -> list[Proxy]:
    """`count` short journeys, each through `keys` (2 or 3) of the chosen rows, slerped with ease in/out."""
    _check_count("count", count)
    if keys not in (2, 3):
        raise InstrumentError(f"keys must be 2 or 3, got {keys}")
    if not seconds > 0:
        raise InstrumentError(f"seconds must be > 0, got {seconds}")
    out, dev, rng = _out_dir(out_dir), pick_device(device), np.random.default_rng(seed)
    with open_log(log) as reader:
        rows = _check_rows(reader, rows)
        loaded, rate = resolve_model(reader.header, model, dev), float(fps or reader.header["fps_hint"])
        plans = [[int(r) for r in rng.choice(rows, keys, replace=len(rows) < keys)] for _ in range(count)]
        legs = [[(reader.latent_frame(r), reader.rows()["params"][r]) for r in plan] for plan in plans]
        headers = [_derived_header(reader, loaded, seed, rate, {"journey": {"rows": plan, "seconds": seconds}})
                   for plan in plans]
    n = max(2, int(round(seconds * rate)))
    return [_proxy(out / f"journey-{j}", headers[j], _journey(keyframes, n, rate), loaded, size, dev, progress)
            for j, keyframes in enumerate(legs)]


def _journey(keyframes: list, n: int, rate: float) -> list:
    """n frames through the keyframes: z slerped per source, mix / psi / float parameters lerped."""
    shots, legs = [], len(keyframes) - 1
    for k in range(n):
        pos = k / (n - 1) * legs
        leg = min(int(pos), legs - 1)
        u = float(smoothstep(pos - leg))
        (a, pa), (b, pb) = keyframes[leg], keyframes[leg + 1]
        z = slerp(a.z.astype(np.float64), b.z.astype(np.float64), u).astype(np.float32)
        mix = lerp(a.mix, b.mix, u)
        mix = (mix / np.maximum(mix.sum(axis=1, keepdims=True), 1e-12)).astype(np.float32)
        frame = LatentFrame(k, k / rate, z, mix, float(a.psi + u * (b.psi - a.psi)), a.cutoff, a.noise_mode,
                            a.noise_seed, lerp(a.directions, b.directions, u).astype(np.float32),
                            a.direction_layers if u < 0.5 else b.direction_layers)
        shots.append((frame, pa + u * (pb - pa)))
    return shots


def _frame(k: int, t: float, z: np.ndarray, num_ws: int, values: np.ndarray) -> LatentFrame:
    mix = np.zeros((num_ws, 3), np.float32)
    mix[:, 0] = 1.0
    psi, cutoff = values[PARAMS_INDEX["truncation.psi"]], values[PARAMS_INDEX["truncation.cutoff"]]
    return LatentFrame(k, t, np.stack([z] * 3).astype(np.float32), mix, float(psi), min(int(cutoff), num_ws),
                       "const", 0)


def _derived_header(reader, loaded, seed: int, fps: float, what: dict) -> dict:
    header = header_for_model(loaded, seed, fps)
    header["directions"] = reader.header.get("directions")  # the rows keep the source's knob amounts
    header["derived_from"] = {"log": str(reader.path), **what}
    return header


def _proxy(stem: Path, header: dict, shots: list, loaded, size, device, progress: bool) -> Proxy:
    """Write the shots' z-log (fresh file), then re-render it."""
    log, video = stem.with_suffix(".zlog"), stem.with_suffix(".mp4")
    writer = ZlogWriter(log, header, overwrite=True)
    for k, (frame, values) in enumerate(shots):
        writer.write_row(frame, values, frame.t)
        if k % 128 == 127:  # why: write_row drops rather than waits once its ring (256 rows) is full
            writer.flush()
    summary = writer.close()
    if writer.rows_written != len(shots):
        raise InstrumentError(f"proxy z-log not complete: {summary}")
    result = render(log, video, size=size, fps=header["fps_hint"], model=loaded, device=device.type,
                    progress=progress)
    return Proxy(log, video, len(shots), result)


def _check_count(what: str, n) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InstrumentError(f"{what} must be a whole number >= 1, got {n!r}")


def _check_rows(reader, rows) -> list[int]:
    rows = [int(r) for r in rows]
    if not rows:
        raise InstrumentError("choose at least one row (--rows 0 12 40)")
    bad = [r for r in rows if not 0 <= r < reader.recovered]
    if bad:
        raise InstrumentError(f"row {bad[0]} is beyond the end of '{reader.path}' ({reader.recovered} rows: "
                              f"0..{reader.recovered - 1})")
    return rows


def _out_dir(path) -> Path:
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    return out


# ---- command line -------------------------------------------------------------------------------------------------
def _common(p) -> None:
    p.add_argument("-o", "--out", default="proxies", help="folder for the proxy videos and z-logs")
    p.add_argument("--model", help="generator file (default: the logged / bundled one)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fps", type=float)
    p.add_argument("--size", help="proxy size WxH or N")
    p.add_argument("--device", default="auto")
    p.add_argument("--quiet", action="store_true")


def main_explore(argv: list[str] | None = None) -> int:
    """`instrument explore N` / `--samples N` (random samples), or neighbourhoods of chosen rows:
    `instrument explore N --around LOG --rows R.. [--sigma S]`, also spelled `--around LOG:R,R.. --noise S`."""
    p = OneLineParser(prog="instrument explore", description="Proxy videos of random samples or neighbourhoods.")
    p.add_argument("samples", type=int, nargs="?", help="samples (per chosen row with --around)")
    p.add_argument("--samples", dest="samples_opt", type=int, metavar="N", help="the same as the positional N")
    p.add_argument("--around", metavar="LOG[:ROWS]", help="neighbourhoods of rows of this z-log (LOG:10,80 or --rows)")
    p.add_argument("--rows", type=_rows, nargs="+", default=[], help="rows of LOG (with --around): 10 80 or 10,80")
    p.add_argument("--sigma", "--noise", dest="sigma", type=float, default=0.3,
                   help="neighbourhood noise per z component")
    _common(p)
    return _main(p, argv, _explore_args)


def _rows(text: str) -> list[int]:
    """'10' or '10,80,150' -> row numbers (argparse reports a ValueError as a bad value)."""
    return [int(part) for part in text.split(",") if part.strip()]


def _flat(groups) -> list[int]:
    return [row for group in groups for row in group]


def _explore_args(a) -> list[Proxy]:
    samples = a.samples_opt if a.samples_opt is not None else a.samples
    if samples is None:
        raise InstrumentError("give the number of samples: 'instrument explore 200 -o DIR' (or --samples 200)")
    kw = dict(model=a.model, seed=a.seed, size=a.size, device=a.device, progress=not a.quiet)
    if a.around:
        log, rows = a.around, _flat(a.rows)
        if ":" in log and not Path(log).exists():  # LOG:ROWS
            log, _, listed = log.rpartition(":")
            try:
                rows += _rows(listed)
            except ValueError:
                raise InstrumentError(f"--around '{a.around}': rows after ':' must be numbers like 10,80,150") from None
        return [around(log, rows, a.sigma, samples, a.out, fps=a.fps, **kw)]
    return [explore(samples, a.out, fps=a.fps or 30.0, **kw)]


def main_journeys(argv: list[str] | None = None) -> int:
    """`instrument journeys LOG --rows R.. [--count N] [--keys 2|3] [--seconds S]` (or `--from LOG`)."""
    p = OneLineParser(prog="instrument journeys", description="Short slerp journeys between chosen frames.")
    p.add_argument("log", nargs="?")
    p.add_argument("--from", dest="log_from", metavar="LOG", help="the same as the positional LOG")
    p.add_argument("--rows", type=_rows, nargs="+", required=True, help="rows to visit: 10 80 150 or 10,80,150")
    p.add_argument("--count", type=int, default=4)
    p.add_argument("--keys", type=int, default=2, choices=(2, 3))
    p.add_argument("--seconds", type=float, default=4.0)
    _common(p)
    return _main(p, argv, _journeys_args)


def _journeys_args(a) -> list[Proxy]:
    log = a.log_from or a.log
    if log is None:
        raise InstrumentError("give the z-log: 'instrument journeys show.zlog --rows 10,80' (or --from show.zlog)")
    return journeys(log, _flat(a.rows), a.count, a.keys, a.seconds, a.out, model=a.model, seed=a.seed, fps=a.fps,
                    size=a.size, device=a.device, progress=not a.quiet)


def _main(parser, argv, action) -> int:
    try:
        proxies = action(parser.parse_args(argv))
    except InstrumentError as e:
        print(f"instrument: error: {e}", file=sys.stderr)
        return 2
    for proxy in proxies:
        print(f"wrote {proxy.video} and {proxy.log} ({proxy.rows} rows)")
    return 0
