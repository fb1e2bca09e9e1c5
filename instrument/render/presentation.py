"""Presentation: how generator frames reach the GL frame texture, chosen once at start, dropped to the pinned copy
on any interop failure without stopping the show.

    "interop":           generator ─> DeviceSlot (device, RGBA8) ─> GLInterop.present ─> frame texture
    "pinned copy (why)": generator ─> LatestFrame (pinned host, RGB) ─> FramePipeline.upload ─> frame texture

CUDA-GL interop runs where `interop_missing` finds nothing missing (a CUDA device, cuda-python, a GL context on
NVIDIA's driver) and registering the frame texture succeeds; everywhere else the pinned copy runs, and `describe()`
says why in one line. The display thread owns this object and every GL call in it (moderngl's threading rule);
the generator learns which slot to write through `on_switch` (GeneratorThread.use_slot), between two frames.
A frame is never read on the host on the interop path: the z-log reads latents and `sampled_at`, and
`Engine.read_pixels` reads the framebuffer.
"""

from __future__ import annotations

import torch

from instrument.render import interop
from instrument.render.slot import Frame, LatestFrame

INTEROP = "interop"
PINNED = "pinned copy"


def _one_line(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}".splitlines()[0][:200]


class Presentation:
    """The display side of the hand-off: which slot the display takes from, and how a frame gets into GL."""

    def __init__(self, pinned: LatestFrame, device: torch.device, log=print):
        self.pinned = pinned           # host slot (pinned on CUDA): today's path and the fallback
        self.device = device
        self.log = log
        self.slot = pinned             # the slot the display takes from now
        self.device_slot = None        # DeviceSlot while interop runs (kept after a fallback, for its counts)
        self.interop = None            # GLInterop while presenting through it
        self.reason = "not started"    # why the pinned copy runs ("" while interop runs)
        self.on_switch = None          # callable(slot): tells the generator which slot to write (engine wires it)

    # Choosing, on the display thread with GL current, before the generator starts.
    def start(self, ctx, pipeline, size: tuple[int, int]) -> LatestFrame:
        """Pick interop or the pinned copy for frames of `size` (width, height); returns the slot to write."""
        reason = interop.interop_missing(self.device, ctx)
        if reason is None:
            reason = self._start_interop(pipeline, size)
        self.reason = reason or ""
        self.log(f"presentation: {self.describe()}")
        return self.slot

    def _start_interop(self, pipeline, size: tuple[int, int]) -> str | None:
        width, height = size
        gl = None
        try:
            gl = interop.GLInterop(self.device)
            gl.register(pipeline.rgba_source(size))  # a registration failure shows now, not on the first frame
            slot = interop.DeviceSlot(height, width, self.device)
        except Exception as e:
            self._release(gl)
            return f"CUDA-GL interop failed at start ({_one_line(e)})"
        self.interop, self.device_slot, self.slot = gl, slot, slot
        return None

    # Showing, on the display thread.
    def take(self) -> Frame | None:
        return self.slot.take()

    def show(self, frame: Frame, pipeline) -> bool:
        """Put `frame` into the pipeline's frame texture; False when interop failed (and the pinned copy took over)."""
        if frame.pixels is not None:
            pipeline.upload(frame.pixels)
            return True
        if self.interop is None:  # a device frame taken just before a fallback: the next host frame replaces it
            return False
        height, width = frame.tensor.shape[:2]
        try:
            self.interop.present(frame, pipeline.rgba_source((width, height)))
        except Exception as e:
            self.fall_back(f"CUDA-GL interop failed mid-show ({_one_line(e)})")
            return False
        pipeline.written()
        return True

    def fall_back(self, reason: str) -> None:
        """Drop to the pinned copy: the display takes host frames from now on, the generator writes them next."""
        gl, self.interop = self.interop, None
        self.reason = reason
        self._release(gl)
        self.slot = self.pinned
        if self.on_switch is not None:
            self.on_switch(self.pinned)
        self.log(f"presentation: {self.describe()}")

    def _release(self, gl) -> None:
        if gl is None:
            return
        try:
            gl.release()
        except Exception as e:  # unregistering a texture must not end the show: say it and go on
            self.log(f"presentation: releasing CUDA-GL interop failed ({_one_line(e)})")

    def release(self) -> None:
        """Unregister the texture (display thread, before the pipeline releases it)."""
        gl, self.interop = self.interop, None
        self._release(gl)

    # Reporting.
    @property
    def mode(self) -> str:
        return INTEROP if self.interop is not None else PINNED

    def describe(self) -> str:
        """'interop' or 'pinned copy (why)': one line, for the log and the stats JSON."""
        return INTEROP if self.interop is not None else f"{PINNED} ({self.reason})"

    @property
    def published(self) -> int:
        return self.pinned.published + (self.device_slot.published if self.device_slot is not None else 0)

    @property
    def dropped(self) -> int:
        return self.pinned.dropped + (self.device_slot.dropped if self.device_slot is not None else 0)
