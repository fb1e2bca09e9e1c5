"""Presentation (render/presentation.py): interop where it can run, else the pinned copy with a one-line reason;
an interop failure at start or mid-show drops to the pinned copy and tells the generator, without raising."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from instrument.render import interop
from instrument.render.presentation import Presentation
from instrument.render.slot import LatestFrame

CPU = torch.device("cpu")


class FakePipeline:
    """The two ways into FramePipeline's frame texture, counted."""

    class Texture:
        def __init__(self, size):
            self.glo, self.size, self.components = 7, size, 4

    def __init__(self):
        self.uploads = self.writes = 0
        self.texture = None

    def rgba_source(self, size):
        if self.texture is None or self.texture.size != size:
            self.texture = self.Texture(size)
        return self.texture

    def written(self):
        self.writes += 1

    def upload(self, pixels):
        assert pixels.dtype == np.uint8 and pixels.shape[-1] == 3
        self.uploads += 1


def _started(log, size=(4, 2)):
    pinned, pipeline = LatestFrame(size[1], size[0]), FakePipeline()
    presentation = Presentation(pinned, CPU, log.append)
    switched = []
    slot = presentation.start(None, pipeline, size)
    presentation.on_switch = switched.append
    return presentation, pinned, pipeline, slot, switched


def _publish(slot):
    frame = slot.acquire()
    frame.tensor[..., :3] = 9
    slot.publish()


def test_without_cuda_the_pinned_copy_runs_and_says_why_in_one_line():
    log = []
    presentation, pinned, pipeline, slot, _ = _started(log)
    assert slot is pinned and presentation.mode == "pinned copy"
    assert presentation.describe() == f"pinned copy ({interop.interop_missing(CPU)})"
    assert "needs a CUDA device" in presentation.describe() and "\n" not in presentation.describe()
    assert log == [f"presentation: {presentation.describe()}"]
    _publish(slot)
    assert presentation.show(presentation.take(), pipeline) and pipeline.uploads == 1


def test_a_mesa_context_keeps_the_pinned_copy_and_names_the_renderer(monkeypatch):
    from instrument.render.offscreen import Offscreen
    monkeypatch.setattr(interop.torch.cuda, "is_available", lambda: True)  # as on a CUDA machine ...
    monkeypatch.setattr(interop, "_cudart", lambda: object())              # ... with cuda-python
    log = []
    presentation = Presentation(LatestFrame(8, 8), torch.device("cuda"), log.append)
    with Offscreen((8, 8)) as off:  # this machine's EGL: Mesa
        assert presentation.start(off.ctx, FakePipeline(), (8, 8)) is presentation.pinned
    assert "NVIDIA's driver" in presentation.describe() and "Mesa" in presentation.describe()


def test_interop_presents_device_frames_map_copy_unmap(stub_interop):
    log = []
    presentation, pinned, pipeline, slot, _ = _started(log)
    assert presentation.mode == "interop" and slot is presentation.device_slot and log == ["presentation: interop"]
    assert slot.frames[0].pixels is None and slot.frames[0].tensor.shape == (2, 4, 4)
    for _ in range(2):
        _publish(slot)
        assert presentation.show(presentation.take(), pipeline)
    assert [c[0] for c in stub_interop.calls] == ["set_device", "register", *["map", "copy", "unmap"] * 2]
    assert pipeline.writes == 2 and pipeline.uploads == 0 and presentation.published == 2


def test_a_failure_at_start_keeps_the_pinned_copy_with_the_reason(stub_interop):
    stub_interop.fail = "register"
    log = []
    presentation, pinned, _, slot, _ = _started(log)
    assert slot is pinned and presentation.interop is None
    assert presentation.describe() == ("pinned copy (CUDA-GL interop failed at start (DisplayError: CUDA-GL interop: "
                                       "cudaGraphicsGLRegisterImage failed (cudaErrorUnknown)))")


@pytest.mark.parametrize("call, last_calls", [("map", ["map", "unregister"]),  # a failed map maps nothing
                                              ("copy", ["copy", "unmap", "unregister"]),  # mapped: unmapped
                                              ("unmap", ["unmap", "unregister"])])
def test_a_failure_mid_show_falls_back_and_moves_the_generator(stub_interop, call, last_calls):
    log = []
    presentation, pinned, pipeline, slot, switched = _started(log)
    _publish(slot)
    assert presentation.show(presentation.take(), pipeline)
    stub_interop.fail = call
    _publish(slot)
    assert presentation.show(presentation.take(), pipeline) is False  # no exception: the show goes on
    assert switched == [pinned] and presentation.slot is pinned and presentation.mode == "pinned copy"
    assert presentation.describe().startswith("pinned copy (CUDA-GL interop failed mid-show (")
    assert log[-1] == f"presentation: {presentation.describe()}" and "\n" not in log[-1]
    kinds = [c[0] for c in stub_interop.calls]
    assert kinds[-len(last_calls):] == last_calls and kinds.count("unregister") == 1  # then released, once
    _publish(pinned)  # the generator's next frame, on the host
    assert presentation.show(presentation.take(), pipeline) and pipeline.uploads == 1
    assert presentation.published == 3
