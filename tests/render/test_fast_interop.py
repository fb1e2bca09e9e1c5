"""CUDA-GL interop (render/interop.py): capability checks say why in one line; the RGBA frame texture the interop
writes into works through the shader chain on any GL (EGL here); the CUDA copy itself needs an NVIDIA GPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from instrument.render import interop
from instrument.render.interop import interop_unavailable_reason

needs_interop = pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA-GL interop needs a CUDA GPU (none here)")


class FakeContext:
    def __init__(self, vendor: str, renderer: str):
        self.info = {"GL_VENDOR": vendor, "GL_RENDERER": renderer}


def test_no_cuda_is_a_one_line_reason():
    for device in (torch.device("cpu"), torch.device("cuda")):
        reason = interop_unavailable_reason(device, FakeContext("NVIDIA Corporation", "H100"))
        if device.type == "cuda" and torch.cuda.is_available():
            continue
        assert "needs a CUDA device" in reason and "pinned copy" in reason and "\n" not in reason


def test_missing_cuda_python_and_mesa_contexts_are_named(monkeypatch):
    cuda = torch.device("cuda")
    monkeypatch.setattr(interop.torch.cuda, "is_available", lambda: True)

    def no_bindings():
        raise ImportError("No module named 'cuda'")
    monkeypatch.setattr(interop, "_cudart", no_bindings)
    assert "cuda-python" in interop_unavailable_reason(cuda, FakeContext("NVIDIA Corporation", "H100"))
    monkeypatch.setattr(interop, "_cudart", lambda: object())
    mesa = interop_unavailable_reason(cuda, FakeContext("Mesa", "llvmpipe (LLVM 15.0.6, 256 bits)"))
    assert "NVIDIA's driver" in mesa and "llvmpipe" in mesa
    assert "GL context" in interop_unavailable_reason(cuda, None)
    assert interop_unavailable_reason(cuda, FakeContext("NVIDIA Corporation", "NVIDIA H100/PCIe/SSE2")) is None


def test_rgba_frame_texture_draws_like_an_uploaded_frame():
    """What interop writes (RGBA8, row 0 = top) shows the same picture as an RGB upload, and upload switches back."""
    from instrument.render.offscreen import Offscreen
    from instrument.render.pipeline import FramePipeline
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    rgba = np.concatenate([rgb, np.full((8, 8, 1), 255, np.uint8)], axis=2)
    with Offscreen((8, 8)) as off:
        pipe = FramePipeline(off.ctx, (8, 8))
        try:
            texture = pipe.rgba_source((8, 8))
            assert texture.components == 4 and pipe.rgba_source((8, 8)) is texture  # no reallocation per frame
            texture.write(rgba.tobytes())  # stands in for cudaMemcpy2DToArrayAsync
            pipe.written()
            pipe.render(off.fbo, (8, 8), {})
            via_rgba = off.read()
            pipe.upload(rgb)
            pipe.render(off.fbo, (8, 8), {})
            via_upload = off.read()
        finally:
            pipe.release()
    assert np.array_equal(via_rgba, via_upload)
    assert np.array_equal(via_upload, rgb)


@needs_interop
def test_device_slot_orders_writer_and_reader_with_events():
    device = torch.device("cuda")
    slot = interop.DeviceSlot(4, 4, device)
    frame = slot.acquire()
    frame.tensor[..., :3].fill_(7)
    slot.publish()
    taken = slot.take()
    assert taken is frame and taken.ready.query() in (True, False)
    torch.cuda.current_stream().wait_event(taken.ready)
    assert int(taken.tensor[0, 0, 0]) == 7 and int(taken.tensor[0, 0, 3]) == 255


# --- GLInterop's call sequence against a stub of cuda-python's runtime (the real calls need an NVIDIA GPU) ------

class _Enum:
    def __init__(self, **members):
        self.__dict__.update(members)


class _FakeRuntime:
    cudaError_t = _Enum(cudaSuccess=0, cudaErrorInvalidValue=1)
    cudaGraphicsRegisterFlags = _Enum(cudaGraphicsRegisterFlagsWriteDiscard=2)
    cudaMemcpyKind = _Enum(cudaMemcpyDeviceToDevice=3)

    def __init__(self, fail_copy=False):
        self.calls, self.fail_copy, self.next_resource = [], fail_copy, 100

    def cudaSetDevice(self, index):
        self.calls.append(("set_device", index))
        return (0,)

    def cudaGetErrorName(self, err):
        return (0, b"cudaErrorInvalidValue")

    def cudaGraphicsGLRegisterImage(self, glo, target, flags):
        self.next_resource += 1
        self.calls.append(("register", glo, target, flags))
        return (0, self.next_resource)

    def cudaGraphicsUnregisterResource(self, resource):
        self.calls.append(("unregister", resource))
        return (0,)

    def cudaGraphicsMapResources(self, count, resource, stream):
        self.calls.append(("map", count, resource, stream))
        return (0,)

    def cudaGraphicsSubResourceGetMappedArray(self, resource, index, level):
        return (0, ("array", resource))

    def cudaMemcpy2DToArrayAsync(self, dst, w_offset, h_offset, src, spitch, width, height, kind, stream):
        self.calls.append(("copy", dst, spitch, width, height, kind, stream))
        return (1,) if self.fail_copy else (0,)

    def cudaGraphicsUnmapResources(self, count, resource, stream):
        self.calls.append(("unmap", resource, stream))
        return (0,)


class _FakeEvent:
    def __init__(self):
        self.recorded_on = None

    def record(self, stream=None):
        self.recorded_on = stream


class _FakeStream:
    cuda_stream = 0xABC

    def __init__(self, device=None):
        self.waited = []

    def wait_event(self, event):
        self.waited.append(event)


class _Texture:
    def __init__(self, glo, size=(4, 2), components=4):
        self.glo, self.size, self.components = glo, size, components


def _interop(monkeypatch, runtime):
    monkeypatch.setattr(interop, "_cudart", lambda: runtime)
    monkeypatch.setattr(interop.torch.cuda, "Stream", _FakeStream)
    gl = interop.GLInterop(torch.device("cuda", 0))
    frame = interop.DeviceFrame(pixels=None, tensor=torch.zeros((2, 4, 4), dtype=torch.uint8),
                                ready=_FakeEvent(), read_done=_FakeEvent())
    return gl, frame


def test_present_waits_maps_copies_unmaps_and_records_in_order(monkeypatch):
    rt = _FakeRuntime()
    gl, frame = _interop(monkeypatch, rt)
    gl.present(frame, _Texture(7))
    gl.present(frame, _Texture(7))
    kinds = [c[0] for c in rt.calls]
    assert kinds == ["set_device", "register", "map", "copy", "unmap", "map", "copy", "unmap"]  # registered once
    assert rt.calls[1] == ("register", 7, interop.GL_TEXTURE_2D, 2)
    assert rt.calls[3] == ("copy", ("array", 101), 16, 16, 2, 3, 0xABC)  # pitch = width * 4 bytes, 2 rows
    assert gl.stream.waited == [frame.ready, frame.ready] and frame.read_done.recorded_on is gl.stream


def test_a_new_texture_is_re_registered_and_the_old_one_released(monkeypatch):
    rt = _FakeRuntime()
    gl, frame = _interop(monkeypatch, rt)
    gl.present(frame, _Texture(7))
    gl.present(frame, _Texture(8))
    gl.release()
    assert [c for c in rt.calls if c[0] in ("register", "unregister")] == [
        ("register", 7, interop.GL_TEXTURE_2D, 2), ("unregister", 101), ("register", 8, interop.GL_TEXTURE_2D, 2),
        ("unregister", 102)]


def test_a_failed_copy_still_unmaps_and_is_one_line(monkeypatch):
    from instrument.errors import DisplayError
    rt = _FakeRuntime(fail_copy=True)
    gl, frame = _interop(monkeypatch, rt)
    message = r"^CUDA-GL interop: cudaMemcpy2DToArrayAsync failed \(cudaErrorInvalidValue\)$"
    with pytest.raises(DisplayError, match=message):
        gl.present(frame, _Texture(7))
    assert rt.calls[-1][0] == "unmap"


def test_a_frame_that_does_not_fit_the_texture_is_refused(monkeypatch):
    from instrument.errors import DisplayError
    gl, frame = _interop(monkeypatch, _FakeRuntime())
    with pytest.raises(DisplayError, match="does not fit texture 8x8x4"):
        gl.present(frame, _Texture(7, size=(8, 8)))
