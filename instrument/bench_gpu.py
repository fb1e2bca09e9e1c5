"""`instrument bench gpu`: the CUDA fast path against the eager float32 path, side by side in one run.

For StyleGAN2 (config-F widths: channel_base 32768, channel_max 512, z = w = 512, 8 mapping layers) at each
size asked and StyleGAN3-T at each SG3 size, random weights from our own modules:

1. Generator only, ms per frame (input load + mapping + mix + truncation + synthesis + uint8), median and p90 of
   `frames` after warm-up: CUDA events on CUDA, perf_counter on CPU. `eager` runs our modules in float32 with
   plain ops; `fast` is render/fast.py (float16 + conv_clamp, frozen demodulation terms, one CUDA graph).
2. Equality: the fast path's pixels against the eager float32 pixels on fresh random latents (relative L2 error
   of the centred uint8 images, and the largest difference in levels).
3. The full pipeline offscreen (EGL): generator thread -> LatestFrame -> upload (or CUDA-GL interop) -> shader
   chain -> glFinish, the display loop unpaced for `seconds`: frames drawn per second and latency from latent
   sampled to frame drawn. Paths: `today` (GeneratorThread without the fast path: traced float32, pinned copy),
   `fast` (the fast path, pinned copy), `fast+interop` (the fast path, CUDA-GL interop; CUDA + cuda-python +
   an NVIDIA GL context only).

Prints a table and writes JSON with the device, driver, torch and CUDA versions. On CPU it runs the same
harness at the sizes asked (the tests use tiny ones); CUDA figures need a GPU.
"""

from __future__ import annotations

import datetime
import json
import platform
import subprocess
import time

import numpy as np
import torch

from instrument.latent.conductor import Conductor, LatentFrame
from instrument.models.loader import pick_device
from instrument.models.stylegan2 import GeneratorConfig, make_generator
from instrument.models.stylegan3 import make_stylegan3, stylegan3_config
from instrument.params import ParamStore
from instrument.render.fast import FastFrame, graph_unavailable_reason, prepare_generator
from instrument.render.generator_thread import FrameRenderer, GeneratorThread
from instrument.render.slot import LatestFrame

WARMUP_FRAMES = 10
LATENT_CYCLE = 16          # distinct random latents the timed frames cycle through
EQUALITY_SAMPLES = 4
FIRST_FRAME_WAIT_S = 60.0  # graph capture and cuDNN autotuning happen before the first frame
CPU_NOTE = "no CUDA device here: figures below are CPU figures; CUDA figures need a GPU (docs/cuda.md)"


def make_model(kind: str, resolution: int, channel_base: int, channel_max: int, seed: int = 0):
    """Random-weight generator: 'sg2' config-F widths (conv_clamp 256 as NVIDIA trains it) or 'sg3-t'."""
    if kind == "sg2":
        cfg = GeneratorConfig(z_dim=512, w_dim=512, mapping_layers=8, img_resolution=resolution,
                              channel_base=channel_base, channel_max=channel_max, conv_clamp=256.0)
        return make_generator(cfg, seed=seed, w_avg_samples=256)
    if kind == "sg3-t":
        cfg = stylegan3_config("t", img_resolution=resolution, channel_base=channel_base, channel_max=channel_max)
        return make_stylegan3(cfg, seed=seed, w_avg_samples=256)
    raise ValueError(f"unknown model kind {kind!r}; choose sg2 or sg3-t")


def random_latents(G, count: int, seed: int) -> list[LatentFrame]:
    """Fresh random frames: source A only, no truncation, constant noise."""
    rng = np.random.default_rng(seed)
    mix = np.zeros((G.num_ws, 3), np.float32)
    mix[:, 0] = 1.0
    return [LatentFrame(index=i, t=0.0, z=rng.standard_normal((3, G.z_dim)).astype(np.float32), mix=mix,
                        psi=1.0, cutoff=G.num_ws, noise_mode="const", noise_seed=0) for i in range(count)]


# --- generator only ------------------------------------------------------------------------------------------

def time_frames(render, latents: list[LatentFrame], frames: int, device: torch.device) -> dict:
    """ms per frame of render(latent) -> device pixels: median and p90 after warm-up."""
    cuda = device.type == "cuda"
    start, end = (torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) if cuda else (0, 0)
    times_ms = []
    for i in range(WARMUP_FRAMES + frames):
        latent = latents[i % len(latents)]
        if cuda:
            start.record()
            render(latent)
            end.record()
            end.synchronize()
            ms = start.elapsed_time(end)
        else:
            t0 = time.perf_counter()
            render(latent)
            ms = (time.perf_counter() - t0) * 1e3
        if i >= WARMUP_FRAMES:
            times_ms.append(ms)
    p50 = float(np.median(times_ms))
    return {"ms_p50": p50, "ms_p90": float(np.percentile(times_ms, 90)), "fps": 1e3 / max(p50, 1e-9),
            "frames": frames}


def fp16_resolutions(G) -> list[int]:
    """The StyleGAN2 block resolutions that run float16 (none for StyleGAN3 or on CPU)."""
    synthesis = G.synthesis
    return [r for r in getattr(synthesis, "block_resolutions", []) if getattr(synthesis, f"b{r}").use_fp16]


def eager_render(renderer: FrameRenderer):
    """The baseline: our modules, float32, plain eager ops (no trace, no graph)."""
    def render(latent: LatentFrame) -> torch.Tensor:
        renderer._load(latent)
        return renderer.render_loaded(latent.noise_mode)
    return render


def equality(fast: FastFrame, eager, latents: list[LatentFrame]) -> dict:
    """Relative L2 error of fast vs eager float32 pixels (centred uint8) and the largest level difference."""
    num = den = 0.0
    worst = 0
    for latent in latents:
        a = fast.image(latent)[..., :3].float()
        b = eager(latent).float()
        num += float((a - b).square().sum())
        den += float((b - 127.5).square().sum())
        worst = max(worst, int((a - b).abs().max()))
    return {"rel_err": (num / max(den, 1e-12)) ** 0.5, "max_abs_levels": worst, "samples": len(latents)}


# --- the full pipeline ---------------------------------------------------------------------------------------

def run_pipeline(G, device: torch.device, path: str, seconds: float) -> dict:
    """Generator thread + hand-off + upload/interop + shader chain into the EGL framebuffer, display unpaced."""
    from instrument.render.offscreen import Offscreen
    from instrument.render.pipeline import FramePipeline
    res = G.img_resolution
    surface = Offscreen((res, res))
    pipeline = FramePipeline(surface.ctx, (res, res))
    interop = None
    try:
        slot, interop = _pipeline_slot(path, res, device, surface.ctx)
        thread = GeneratorThread(G, device, Conductor(ParamStore(), G.z_dim, G.num_ws, seed=0), slot,
                                 fast=path != "today")
        thread.start()
        try:
            row = _display_loop(thread, slot, pipeline, surface, interop, seconds)
        finally:
            thread.stop()
            thread.join(timeout=30)
        row["fast_path"] = "off" if path == "today" else (thread.fast_reason or _fast_state(thread))
        return {"path": path, **row}
    finally:
        if interop is not None:
            interop.release()
        pipeline.release()
        surface.release()


def _pipeline_slot(path: str, res: int, device: torch.device, ctx):
    if path != "fast+interop":
        return LatestFrame(res, res, pin_memory=device.type == "cuda"), None
    from instrument.render.interop import DeviceSlot, GLInterop, interop_unavailable_reason
    reason = interop_unavailable_reason(device, ctx)
    if reason is not None:
        raise RuntimeError(reason)
    return DeviceSlot(res, res, device), GLInterop(device)


def _fast_state(thread: GeneratorThread) -> str:
    if thread.fast is None:
        return "off (CPU)"
    return thread.fast.reason or "cuda graph"


def _display_loop(thread, slot, pipeline, surface, interop, seconds: float) -> dict:
    deadline = time.perf_counter() + FIRST_FRAME_WAIT_S
    while slot.published == 0 and thread.errors == 0 and time.perf_counter() < deadline:
        time.sleep(0.005)
    if slot.published == 0:
        raise RuntimeError(f"no frame from the generator ({thread.last_error or 'timed out'})")
    latency_ms, drawn = [], 0
    frames0, t0 = thread.frames, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        frame = slot.take()
        if frame is None:
            time.sleep(0)  # let the generator thread run; the loop never blocks on it
            continue
        if interop is not None:
            interop.present(frame, pipeline.rgba_source((frame.tensor.shape[1], frame.tensor.shape[0])))
            pipeline.written()
        else:
            pipeline.upload(frame.pixels)
        pipeline.render(surface.fbo, surface.size, {})
        surface.ctx.finish()
        latency_ms.append((time.perf_counter() - frame.sampled_at) * 1e3)
        drawn += 1
    elapsed = time.perf_counter() - t0
    gen_ms = float(np.median(thread.generator_ms)) if thread.generator_ms else 0.0
    p50 = float(np.median(latency_ms)) if latency_ms else 0.0
    return {"fps": drawn / elapsed, "generator_fps": (thread.frames - frames0) / elapsed,
            "latency_ms_p50": p50, "latency_ms_p90": float(np.percentile(latency_ms, 90)) if latency_ms else 0.0,
            "latency_in_frames": p50 * drawn / elapsed / 1e3, "generator_ms_p50": gen_ms, "dropped": slot.dropped,
            "errors": thread.errors, "last_error": thread.last_error}


# --- one case, the whole run -----------------------------------------------------------------------------------

PIPELINE_PATHS = ("today", "fast", "fast+interop")  # today: the engine's path before this work


def run_case(kind: str, resolution: int, device: torch.device, frames: int, seconds: float, channel_base: int,
             channel_max: int, compile: bool = False) -> dict:
    G = make_model(kind, resolution, channel_base, channel_max).to(device)
    latents = random_latents(G, LATENT_CYCLE, seed=1)
    case = {"model": kind, "resolution": resolution, "parameters": sum(p.numel() for p in G.parameters())}
    with torch.inference_mode():
        eager = eager_render(FrameRenderer(G, device))
        prepared = prepare_generator(G, device)
        case["fp16_resolutions"] = fp16_resolutions(prepared)
        fast = FastFrame(FrameRenderer(prepared, device), compile=compile)
        case["eager"] = time_frames(eager, latents, frames, device)
        case["fast"] = time_frames(fast.image, latents, frames, device)
        case["fast"]["graph"] = bool(fast.use_graph)
        case["fast"]["reason"] = fast.reason or ""
        case["speedup"] = case["eager"]["ms_p50"] / max(case["fast"]["ms_p50"], 1e-9)
        case["equality"] = equality(fast, eager, random_latents(G, EQUALITY_SAMPLES, seed=2))
    del eager, fast, prepared
    case["pipeline"] = [_pipeline_row(G, device, path, seconds) for path in PIPELINE_PATHS]
    return case


def _pipeline_row(G, device: torch.device, path: str, seconds: float) -> dict:
    """One pipeline run; a path that cannot run here (no EGL, no interop) says why in one line."""
    try:
        return run_pipeline(G, device, path, seconds)
    except Exception as e:
        return {"path": path, "skipped": f"{type(e).__name__}: {e}".splitlines()[0][:200]}


def machine(device: torch.device) -> dict:
    cuda = device.type == "cuda"
    return {"device": str(device), "device_name": torch.cuda.get_device_name(device) if cuda else platform.processor()
            or platform.machine(), "driver": _driver_version() if cuda else None, "torch": torch.__version__,
            "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version() if cuda else None,
            "python": platform.python_version(), "threads": torch.get_num_threads()}


def _driver_version() -> str | None:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None


def run_gpu_bench(sizes: list[int], sg3_sizes: list[int], json_path: str, frames: int = 200, seconds: float = 5.0,
                  device: str = "auto", channel_base: int = 32768, channel_max: int = 512,
                  compile: bool = False, log=print) -> dict:
    dev = pick_device(device, kinds=("cpu", "cuda"))
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
    else:
        log(CPU_NOTE)
    results = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "machine": machine(dev), "settings": {"frames": frames, "seconds": seconds, "compile": compile,
               "channel_base": channel_base, "channel_max": channel_max},
               "graph_unavailable": graph_unavailable_reason(dev), "cases": []}
    for kind, res in [("sg2", r) for r in sizes] + [("sg3-t", r) for r in sg3_sizes]:
        results["cases"].append(run_case(kind, res, dev, frames, seconds, channel_base, channel_max, compile))
    print_tables(results, log)
    with open(json_path, "w") as f:
        json.dump(results, f, indent=2)
    log(f"wrote {json_path}")
    return results


def print_tables(results: dict, log=print) -> None:
    m = results["machine"]
    log(f"{m['device_name']} ({m['device']}), driver {m['driver']}, torch {m['torch']}, CUDA {m['cuda']}")
    log("generator only, batch 1, ms per frame (median / p90); equality = fast vs eager float32 pixels")
    log(f"{'model':>6} {'res':>5} {'eager p50':>10} {'eager p90':>10} {'fast p50':>9} {'fast p90':>9} "
        f"{'fast fps':>9} {'speedup':>8} {'rel err':>9} {'max lvl':>8}  fast path")
    for c in results["cases"]:
        e, f, q = c["eager"], c["fast"], c["equality"]
        log(f"{c['model']:>6} {c['resolution']:>5} {e['ms_p50']:10.2f} {e['ms_p90']:10.2f} {f['ms_p50']:9.2f} "
            f"{f['ms_p90']:9.2f} {f['fps']:9.1f} {c['speedup']:7.2f}x {q['rel_err']:9.2e} {q['max_abs_levels']:8d}  "
            + ("cuda graph" if f["graph"] else f["reason"]))
    log("\nfull pipeline offscreen (EGL), display unpaced: frames drawn per second, latency latent -> drawn")
    log(f"{'model':>6} {'res':>5} {'path':>13} {'fps':>8} {'gen fps':>8} {'lat p50':>8} {'lat p90':>8} "
        f"{'frames':>7} {'dropped':>8}")
    for c in results["cases"]:
        for r in c["pipeline"]:
            head = f"{c['model']:>6} {c['resolution']:>5} {r['path']:>13}"
            if "skipped" in r:
                log(f"{head}  skipped: {r['skipped']}")
                continue
            log(f"{head} {r['fps']:8.1f} {r['generator_fps']:8.1f} {r['latency_ms_p50']:8.2f} "
                f"{r['latency_ms_p90']:8.2f} {r['latency_in_frames']:7.2f} {r['dropped']:8d}")
