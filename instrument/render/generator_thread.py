"""The generator thread: steps the conductor, runs the generator on the newest latents, publishes frames.

It owns the model on its device. Each loop: conductor.step(t, dt) gives a `LatentFrame` (three latent sources,
per-layer mixing weights, truncation, noise); the mapping network turns the sources into w, the mixing weights
blend them per layer, truncation pulls towards the mean, the direction knobs (GANSpace) move w along principal
components, synthesis draws the image, and the pixels land in a buffer of the latest-frame slot. The display
never waits for this thread; this thread never waits for the display. A generator exception is caught, counted
and shown, and the last good frame stays on screen.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections import deque

import numpy as np
import torch

from instrument.latent.conductor import Conductor, LatentFrame
from instrument.latent.directions import LAYER_RANGES, NUM_KNOBS, apply_directions, layer_range
from instrument.models.conditioning import class_weights
from instrument.render.slot import LatestFrame

ERROR_BACKOFF_S = 0.05  # after a failed frame, so a persistent error doesn't spin a core


class PinnedInputs:
    """Host staging for a renderer's array inputs on CUDA.

    Why: `device_tensor.copy_(torch.from_numpy(a))` copies from pageable memory and waits for the stream, so
    loading frame N+1 would wait for frame N's kernels. Each frame's values are written into pinned host buffers
    allocated once and copied with non_blocking=True on the current stream instead. One event keeps a host buffer
    from being rewritten while the last frame's copy may still read it (those copies run before that frame's
    kernels, so the wait is short). pin=False (CPU tensors, no event) exists for tests on machines without CUDA.
    """

    def __init__(self, targets: tuple[torch.Tensor, ...], pin: bool = True):
        self.targets = targets                                               # device buffers, updated in place
        self.hosts = tuple(torch.empty(t.shape, dtype=t.dtype, pin_memory=pin) for t in targets)
        self.arrays = tuple(h.numpy() for h in self.hosts)                   # numpy views of the host buffers
        self.copied = torch.cuda.Event() if pin else None                    # recorded after the last copies

    def load(self, *values: np.ndarray) -> None:
        """values[i] (broadcastable to targets[i], float32) -> targets[i], asynchronously."""
        if self.copied is not None:
            self.copied.synchronize()
        for array, host, target, value in zip(self.arrays, self.hosts, self.targets, values):
            np.copyto(array, value, casting="same_kind")
            target.copy_(host, non_blocking=True)
        if self.copied is not None:
            self.copied.record()


class FrameRenderer:
    """The per-frame tensor work, with every input buffer allocated once on the model's device.

    The whole frame (mapping -> per-layer mix -> truncation -> directions -> synthesis -> uint8) runs as one
    traced TorchScript graph per noise mode. Why: eager PyTorch runs hundreds of small ops per frame, each re-taking the
    GIL, and while the display thread holds the GIL (moderngl calls keep it) every re-take waits. A traced graph
    runs in C++ without the GIL between ops: measured on 2 CPU cores next to a busy Python thread, synthesis took
    170 ms eager and 38 ms traced. Inputs are buffers updated in place, so the graph sees new values each frame.
    """

    def __init__(self, generator: torch.nn.Module, device: torch.device):
        self.G = generator
        self.device = device
        self.z = torch.zeros((3, generator.z_dim), device=device)          # sources A, B, C
        self.mix = torch.zeros((generator.num_ws, 3), device=device)       # [num_ws, sources]
        self.psi = torch.ones((), device=device)
        self.cutoff = torch.full((), generator.num_ws, device=device)
        self.layer = torch.arange(generator.num_ws, device=device)[:, None]
        self.amounts = torch.zeros(NUM_KNOBS, device=device)                # direction.1..8, in σ
        self.scaled = torch.zeros((NUM_KNOBS, generator.w_dim), device=device)  # σ_k·d_k; zero rows: no knob
        self.layer_lo = torch.zeros((), dtype=torch.long, device=device)    # directions move layers [lo, hi)
        self.layer_hi = torch.full((), generator.num_ws, dtype=torch.long, device=device)
        self._ranges = {name: layer_range(name, generator.num_ws) for name in LAYER_RANGES}
        self._inputs = (self.z, self.mix, self.psi, self.cutoff, self.amounts, self.scaled, self.layer_lo,
                        self.layer_hi)  # every trace input, in the order _ws takes them
        self.c_dim = int(getattr(generator, "c_dim", 0) or 0)
        if self.c_dim:  # conditional models only: the class vector is one more input (unconditional: unchanged)
            self.c = torch.zeros((1, self.c_dim), device=device)           # class.position as class weights
            self._c_host = np.zeros(self.c_dim, np.float32)
            self._inputs += (self.c,)
        self.noise = torch.Generator(device=device)
        self._traced: dict[str, torch.jit.ScriptFunction] = {}
        # StyleGAN3's input transform is a buffer changed in place each frame; a trace could freeze it, so SG3
        # models run eager (they are GPU-bound anyway).
        self.eager = hasattr(generator, "set_input_transform")
        self.staging = None  # CUDA: PinnedInputs for z, mix, amounts (and c); CPU loads as it always has
        if device.type == "cuda":
            self.stage_inputs()

    def stage_inputs(self, pin: bool = True) -> None:
        """Load the array inputs through pinned host buffers with non-blocking copies (on by default on CUDA)."""
        targets = (self.z, self.mix, self.amounts) + ((self.c[0],) if self.c_dim else ())
        self.staging = PinnedInputs(targets, pin)

    def _load(self, frame: LatentFrame) -> None:
        if self.staging is not None:
            c = (class_weights(frame.class_position, self.c_dim, self._c_host),) if self.c_dim else ()
            self.staging.load(frame.z, frame.mix, frame.directions, *c)
        else:
            self.z.copy_(torch.from_numpy(frame.z))
            self.mix.copy_(torch.from_numpy(frame.mix))
            self.amounts.copy_(torch.from_numpy(frame.directions))
            if self.c_dim:
                self.c[0].copy_(torch.from_numpy(class_weights(frame.class_position, self.c_dim, self._c_host)))
        self.psi.fill_(frame.psi)
        self.cutoff.fill_(frame.cutoff)
        lo, hi = self._ranges[frame.direction_layers]
        self.layer_lo.fill_(lo)
        self.layer_hi.fill_(hi)

    def set_directions(self, scaled: torch.Tensor) -> None:
        """The knobs' directions, σ_k·d_k [8, w_dim] (directions.scaled_components); zeros turn the knobs off."""
        if tuple(scaled.shape) != tuple(self.scaled.shape):
            raise ValueError(f"directions must have shape {tuple(self.scaled.shape)} (knobs, w_dim), "
                             f"got {tuple(scaled.shape)}; recompute them for this model")
        self.scaled.copy_(scaled)

    def _ws(self, z, mix, psi, cutoff, amounts, scaled, lo, hi, c=None) -> torch.Tensor:
        w_sources = self.G.mapping(z, c)                                   # [3, num_ws, w_dim]; c: [1, c_dim]
        ws = torch.einsum("snd,ns->nd", w_sources, mix)                    # blend per layer
        w_avg = self.G.mapping.w_avg
        ws = torch.where(self.layer < cutoff, w_avg + psi * (ws - w_avg), ws)[None]  # [1, num_ws, w_dim]
        return apply_directions(ws, scaled, amounts, lo, hi)              # += Σ_k amounts_k·σ_k·d_k on [lo, hi)

    def _pixels(self, ws: torch.Tensor, noise_mode: str, noise=None) -> torch.Tensor:
        img = self.G.synthesis(ws, noise_mode=noise_mode, noise_generator=noise)
        return (img[0].permute(1, 2, 0) * 127.5 + 128).clamp(0, 255).to(torch.uint8)  # [H, W, 3]

    def ws(self, frame: LatentFrame) -> torch.Tensor:
        """The w-latents actually sent to synthesis for this frame: [1, num_ws, w_dim]."""
        self._load(frame)
        return self._ws(*self._inputs)

    def render_loaded(self, noise_mode: str) -> torch.Tensor:
        """Pixels [H, W, 3] from the buffers the last `_load` filled, eager: what the CUDA fast path captures."""
        return self._pixels(self._ws(*self._inputs), noise_mode)

    def image(self, frame: LatentFrame) -> torch.Tensor:
        """Render one frame to uint8 pixels [H, W, 3] on the device."""
        self._load(frame)
        if self.eager:
            return self._pixels(self._ws(*self._inputs), frame.noise_mode)
        if frame.noise_mode == "random":  # a trace cannot take a torch.Generator: eager, seeded per frame
            return self._pixels(self._ws(*self._inputs), "random", self.noise.manual_seed(frame.noise_seed))
        return self._graph(frame.noise_mode)(*self._inputs)

    def _graph(self, noise_mode: str):
        fn = self._traced.get(noise_mode)
        if fn is None:
            def whole(*inputs):
                return self._pixels(self._ws(*inputs), noise_mode)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", torch.jit.TracerWarning)
                warnings.simplefilter("ignore", DeprecationWarning)  # trace is deprecated in 2.13 but still the
                # fastest way here to a GIL-free graph; torch.compile needs a compiler toolchain at run time
                fn = torch.jit.trace(whole, self._inputs, check_trace=False)
            self._traced[noise_mode] = fn
        return fn


class GeneratorThread(threading.Thread):
    def __init__(self, generator: torch.nn.Module, device: torch.device, conductor: Conductor,
                 slot: LatestFrame, clock=time.perf_counter, fast: bool = True):
        super().__init__(name="generator", daemon=True)
        self.use_fast = fast and device.type == "cuda"  # the CUDA fast path (render/fast.py); CPU: unchanged
        if self.use_fast:
            from instrument.render.fast import prepare_generator
            generator = prepare_generator(generator, device)  # a float16 copy; the caller's model is untouched
        self.renderer = FrameRenderer(generator, device)
        self.fast = None          # FastFrame once run() starts on CUDA
        self.fast_reason = ""     # why the fast path is off (empty while on or on CPU)
        self.conductor = conductor
        self.slot = slot          # the slot this thread writes (its own; moved only between frames)
        self.target_slot = slot   # the slot it should write: use_slot sets it from any thread
        self.clock = clock
        self.cuda = device.type == "cuda"
        self._stop_event = threading.Event()
        self.frames = 0
        self.errors = 0
        self.last_error = ""
        self.generator_ms = deque(maxlen=4096)   # model time per frame
        self.overhead_ms = deque(maxlen=4096)    # everything else in the loop: conductor, copies, publish
        self.on_frame = None  # optional callable(LatentFrame, Frame), e.g. the z-log writer's enqueue
        self._sg3_slots = [conductor.store.slot(n) for n in ("sg3.translate.x", "sg3.translate.y", "sg3.rotate")]

    def stop(self) -> None:
        self._stop_event.set()

    def use_slot(self, slot: LatestFrame) -> None:
        """Publish into `slot` from the next frame on (any thread: presentation's choice and its fallback)."""
        self.target_slot = slot

    def _follow_slot(self) -> None:
        self.slot = self.target_slot

    def run(self) -> None:
        with torch.inference_mode():
            self._follow_slot()  # before the fast path: its output channels follow the slot's (RGBA for interop)
            if self.use_fast:
                self._start_fast()
            t0 = self.clock()
            t_prev = 0.0
            while not self._stop_event.is_set():
                t = self.clock() - t0
                self._one_frame(t, t - t_prev)
                t_prev = t

    def _one_frame(self, t: float, dt: float) -> None:
        loop_start = self.clock()
        latent = self.conductor.step(t, dt)
        if self.renderer.eager:
            self._input_transform()
        sampled_at = self.clock()
        try:
            pixels = (self.fast or self.renderer).image(latent)
            if self.cuda:
                torch.cuda.current_stream().synchronize()
            generated_at = self.clock()
            self._publish(latent, pixels, sampled_at, generated_at)
        except Exception as e:  # the show goes on: count it, show it, keep the last frame
            self.errors += 1
            self.last_error = f"generator: {type(e).__name__}: {e}".splitlines()[0][:200]
            self._stop_event.wait(ERROR_BACKOFF_S)
            return
        self.frames += 1
        model_ms = (generated_at - sampled_at) * 1e3
        self.generator_ms.append(model_ms)
        self.overhead_ms.append((self.clock() - loop_start) * 1e3 - model_ms)

    def _start_fast(self) -> None:
        """CUDA graphs captured and replayed on this thread, on its own stream; a one-line reason if not."""
        from instrument.render.fast import FastFrame
        try:
            self.fast = FastFrame(self.renderer, channels=self.slot.frames[0].tensor.shape[-1])
        except Exception as e:
            self.fast_reason = f"fast path off: {type(e).__name__}: {e}".splitlines()[0][:200]
            return
        if self.fast.stream is not None:
            torch.cuda.set_stream(self.fast.stream)

    def _input_transform(self) -> None:
        """StyleGAN3: the sg3.* parameters (smoothed by the conductor) move and turn the Fourier input."""
        values = self.conductor.smoother.values
        tx, ty, rot = (float(values[i]) for i in self._sg3_slots)
        self.renderer.G.set_input_transform((tx, ty), rot)

    def _publish(self, latent: LatentFrame, pixels: torch.Tensor, sampled_at: float, generated_at: float) -> None:
        self._follow_slot()
        frame = self.slot.acquire()
        _copy_pixels(frame.tensor, pixels, non_blocking=self.cuda)
        if self.cuda and frame.pixels is not None:
            torch.cuda.current_stream().synchronize()  # the pinned copy must land before the display reads it
        # (a device frame needs no wait here: DeviceSlot.publish records its ready event for the display's stream)
        frame.index = latent.index
        frame.sampled_at = sampled_at
        frame.generated_at = generated_at
        frame.generator_ms = (generated_at - sampled_at) * 1e3
        self.slot.publish()
        if self.on_frame is not None:
            self.on_frame(latent, frame)


def _copy_pixels(dst: torch.Tensor, src: torch.Tensor, non_blocking: bool) -> None:
    """src [H, W, 3 or 4] into dst [H, W, 3 or 4]; when the channel counts differ only RGB is copied (an RGBA
    slot's alpha stays 255, an RGBA frame into an RGB slot after an interop fallback drops its alpha)."""
    if dst.shape == src.shape:
        dst.copy_(src, non_blocking=non_blocking)
    else:
        dst[..., :3].copy_(src[..., :3], non_blocking=non_blocking)


def percentile(values, q: float) -> float:
    """Percentile of a deque of floats (0.0 when empty); read by the engine's statistics."""
    return float(np.percentile(np.fromiter(values, float), q)) if values else 0.0
