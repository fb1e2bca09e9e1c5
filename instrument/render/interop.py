"""Zero-copy presentation: generator frames go from CUDA memory into the GL frame texture without visiting the CPU.

    generator thread (its CUDA stream)                      display thread (owns GL; its own CUDA stream)
    DeviceSlot.acquire: stream waits the buffer's read_done  DeviceSlot.take -> frame
    graph replay -> copy into frame.tensor [H, W, 4]         GLInterop.present(frame, texture):
    DeviceSlot.publish: records frame.ready                    stream waits frame.ready (GPU-side, no CPU wait)
                                                               map texture -> copy 2-D into its array -> unmap
                                                               records frame.read_done

The frame texture is registered once with CUDA (cudaGraphicsGLRegisterImage, write-discard) and re-registered
only when the pipeline re-allocates it. Map and unmap order the CUDA copy against GL's own use of the texture
(CUDA runtime API: graphics calls issued before the map complete before the stream's later work; work issued
before the unmap completes before later graphics calls). The events order the copy against the generator, so
neither thread waits for the other on the CPU and no buffer is overwritten while it is read.

Needs a CUDA build of torch, cuda-python (`pip install 'instrument[cuda]'`) and a GL context on NVIDIA's driver;
`interop_unavailable_reason` says in one line which is missing, and the caller keeps the pinned-copy path.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from instrument.errors import DisplayError
from instrument.render.slot import Frame, LatestFrame

GL_TEXTURE_2D = 0x0DE1
RGBA = 4  # registered images must have 1, 2 or 4 components: the interop frame texture is RGBA8


def _cudart():
    """cuda-python's runtime module (cuda-bindings >= 12.6 name, then the older one), imported only when asked."""
    try:
        from cuda.bindings import runtime
    except ImportError:
        from cuda import cudart as runtime  # cuda-python < 12.6
    return runtime


def interop_missing(device: torch.device, ctx=None) -> str | None:
    """What CUDA-GL interop lacks for `device` with GL context `ctx`, in one line (None: nothing). Never raises."""
    if device.type != "cuda" or not torch.cuda.is_available():
        return f"CUDA-GL interop needs a CUDA device (device '{device}', torch {torch.__version__})"
    try:
        _cudart()
    except ImportError:
        return "CUDA-GL interop needs cuda-python (pip install 'instrument[cuda]')"
    if ctx is None:
        return "CUDA-GL interop needs a GL context"
    vendor = str(ctx.info.get("GL_VENDOR", "")) + " / " + str(ctx.info.get("GL_RENDERER", ""))
    if "nvidia" not in vendor.lower():
        return f"CUDA-GL interop needs the GL context on NVIDIA's driver, this one is '{vendor}'"
    return None


def interop_unavailable_reason(device: torch.device, ctx=None) -> str | None:
    """Why CUDA-GL interop cannot run for `device` with GL context `ctx` (None: it can). Never raises."""
    missing = interop_missing(device, ctx)
    return None if missing is None else f"{missing}; presenting through the pinned copy"


# --- the device-side hand-off ----------------------------------------------------------------------------------

@dataclass
class DeviceFrame(Frame):
    ready: torch.cuda.Event | None = None      # recorded on the generator's stream after the frame is written
    read_done: torch.cuda.Event | None = None  # recorded on the display's stream after the copy to GL


class DeviceSlot(LatestFrame):
    """LatestFrame over device buffers uint8 [H, W, 4] (alpha 255): the same newest-wins triple buffer, with the
    generator and display ordered by CUDA events instead of CPU waits. `pixels` is None: nothing is on the host."""

    def __init__(self, height: int, width: int, device: torch.device):
        self.device = device
        super().__init__(height, width)

    def _make(self, height: int, width: int, pin_memory: bool = False) -> DeviceFrame:
        tensor = torch.full((height, width, RGBA), 255, dtype=torch.uint8, device=self.device)
        return DeviceFrame(pixels=None, tensor=tensor, ready=torch.cuda.Event(), read_done=torch.cuda.Event())

    def acquire(self) -> DeviceFrame:
        frame = super().acquire()
        torch.cuda.current_stream(self.device).wait_event(frame.read_done)  # GL copy of its last use has run
        return frame

    def publish(self) -> None:
        self.frames[self._writing].ready.record(torch.cuda.current_stream(self.device))
        super().publish()


# --- the GL side ----------------------------------------------------------------------------------------------

class GLInterop:
    """Copies DeviceSlot frames into a ModernGL RGBA8 texture; every call on the display thread (GL current)."""

    def __init__(self, device: torch.device):
        self.rt = _cudart()
        self.device = device
        self.stream = torch.cuda.Stream(device)
        self._resource = None
        self._glo = None
        self._check(self.rt.cudaSetDevice(device.index or 0), "cudaSetDevice")

    def _check(self, result, what: str):
        err, *rest = result if isinstance(result, tuple) else (result,)
        if err != self.rt.cudaError_t.cudaSuccess:
            name = self.rt.cudaGetErrorName(err)[1]
            raise DisplayError(f"CUDA-GL interop: {what} failed ({name.decode() if isinstance(name, bytes) else name})")
        return rest[0] if rest else None

    def register(self, texture) -> None:
        """Register `texture` (re-registering after the pipeline replaced it); a no-op when it already is."""
        if texture.glo == self._glo:
            return
        self.release()
        flags = self.rt.cudaGraphicsRegisterFlags.cudaGraphicsRegisterFlagsWriteDiscard
        self._resource = self._check(self.rt.cudaGraphicsGLRegisterImage(texture.glo, GL_TEXTURE_2D, flags),
                                     "cudaGraphicsGLRegisterImage")
        self._glo = texture.glo

    def present(self, frame: DeviceFrame, texture) -> None:
        """Copy `frame` (uint8 [H, W, 4], row 0 = top) into `texture` (RGBA8, same size); asynchronous."""
        h, w, c = frame.tensor.shape
        if c != RGBA or tuple(texture.size) != (w, h) or texture.components != RGBA:
            raise DisplayError(f"CUDA-GL interop: frame {w}x{h}x{c} does not fit texture "
                               f"{texture.size[0]}x{texture.size[1]}x{texture.components}")
        self.register(texture)
        rt, s = self.rt, self.stream.cuda_stream
        self.stream.wait_event(frame.ready)
        self._check(rt.cudaGraphicsMapResources(1, self._resource, s), "cudaGraphicsMapResources")
        try:
            array = self._check(rt.cudaGraphicsSubResourceGetMappedArray(self._resource, 0, 0),
                                "cudaGraphicsSubResourceGetMappedArray")
            pitch = w * RGBA
            self._check(rt.cudaMemcpy2DToArrayAsync(array, 0, 0, frame.tensor.data_ptr(), pitch, pitch, h,
                                                    rt.cudaMemcpyKind.cudaMemcpyDeviceToDevice, s),
                        "cudaMemcpy2DToArrayAsync")
        finally:
            self._check(rt.cudaGraphicsUnmapResources(1, self._resource, s), "cudaGraphicsUnmapResources")
        frame.read_done.record(self.stream)

    def release(self) -> None:
        if self._resource is not None:
            self.rt.cudaGraphicsUnregisterResource(self._resource)
        self._resource = self._glo = None
