"""Shared pytest fixtures."""

from __future__ import annotations

import ctypes
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

XVFB_SCREEN = "1280x720x24"


# In the child before exec: ask Linux to SIGTERM it when pytest dies without running teardown (an Xlib
# error handler, for one, calls exit()). Best effort elsewhere.
def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


# Terminate a helper server, killing it if it doesn't go within 10 s.
def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# Read the display number Xvfb writes to -displayfd once it is ready (it picks a free one itself).
def _read_display_number(fd: int, proc: subprocess.Popen, log, timeout_s: float = 20.0) -> int:
    text, deadline = b"", time.monotonic() + timeout_s
    while not text.endswith(b"\n") and select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
        chunk = os.read(fd, 64)
        if not chunk:
            break
        text += chunk
    text = text.decode().strip()
    if not text.isdigit():
        proc.kill()
        proc.wait()
        log.seek(0)
        err = log.read().decode(errors="replace").strip().splitlines()
        pytest.fail(f"Xvfb did not report a display within {timeout_s:.0f}s: {err[-1] if err else 'no output'}")
    return int(text)


@pytest.fixture(scope="session")
def xvfb_display():
    """A private Xvfb server for the whole session; DISPLAY points at it while tests run. Yields ':N'."""
    binary = shutil.which("Xvfb")
    if binary is None:
        pytest.skip("Xvfb is not installed (Debian: apt install xvfb); window tests need an X server")
    log = tempfile.TemporaryFile()  # Xvfb's stderr, read back only if it fails to start
    read_fd, write_fd = os.pipe()
    # -noreset: by default Xvfb resets when its last client disconnects, and a window opened during the reset
    # fails with "Failed to open display" (seen on a loaded machine between two window tests)
    proc = subprocess.Popen([binary, "-displayfd", str(write_fd), "-screen", "0", XVFB_SCREEN, "-nolisten", "tcp",
                             "-noreset"],
                            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=log, preexec_fn=_die_with_parent)
    os.close(write_fd)
    display = f":{_read_display_number(read_fd, proc, log)}"  # read end stays open: Xvfb must not get SIGPIPE
    previous = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = display
    try:
        yield display
    finally:
        if previous is None:
            os.environ.pop("DISPLAY", None)
        else:
            os.environ["DISPLAY"] = previous
        _stop(proc)
        os.close(read_fd)
        log.close()


# ---- JACK -------------------------------------------------------------------------------------------------------
JACK_ARGS = ("-d", "dummy", "-r", "48000", "-p", "256")  # the machine's stand-in for a sound card and MIDI ports
JACK_POOL = 4                                            # server names tried: instrument-test-0 .. -3


def _jack_ready(env: dict, proc: subprocess.Popen, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        probe = subprocess.run(["jack_lsp"], env=env, capture_output=True)
        if probe.returncode == 0 and b"system:playback" in probe.stdout:
            return True
        time.sleep(0.1)
    return False


@pytest.fixture(scope="session")
def jack_server():
    """A private JACK server (dummy backend, 48 kHz, 256-frame periods) for the session. Yields the variables
    that point clients at it. This process's environment is left alone: PortAudio attached to JACK inside pytest
    aborts at exit once the server is gone, so audio runs in subprocesses and in-process MIDI tests set the
    variables with monkeypatch."""
    if shutil.which("jackd") is None or shutil.which("jack_lsp") is None:
        pytest.skip("jackd is not installed (Debian: apt-get install jackd2); real audio/MIDI tests need JACK")
    # Names from a small pool, not unique ones: JACK's registry holds 8 servers, and a server that died without
    # cleaning up keeps its entry until a server of the same name starts again. A name in use by a concurrent
    # session makes jackd exit at once, and the next name is tried.
    for k in range(JACK_POOL):
        name = f"instrument-test-{k}"
        jack_env = {"JACK_DEFAULT_SERVER": name, "JACK_NO_START_SERVER": "1"}
        env = {**os.environ, **jack_env, "JACK_NO_AUDIO_RESERVATION": "1"}
        log = tempfile.TemporaryFile()  # why: a pipe nobody reads would fill and stall jackd
        proc = subprocess.Popen(["jackd", "-n", name, "--no-realtime", *JACK_ARGS], env=env,
                                stdout=subprocess.DEVNULL, stderr=log, preexec_fn=_die_with_parent)
        if _jack_ready(env, proc):
            break
        _stop(proc)
        log.seek(0)
        err = log.read().decode(errors="replace").strip().splitlines()
        log.close()
    else:
        pytest.fail(f"jackd did not start under any of {JACK_POOL} names: {err[-1] if err else 'no output'}")
    try:
        yield jack_env
    finally:
        _stop(proc)
        log.close()


# ---- CUDA-GL interop, stubbed -------------------------------------------------------------------------------------
class StubRuntime:
    """cuda-python's runtime as GLInterop calls it, recording each call. `fail` names a call that fails next:
    'map' and 'copy' return an error code, 'unmap' raises. `write(src_ptr, pitch, rows)` (optional) stands in for
    the copy into the texture; here the "device" buffers are host memory."""

    class _Enum:
        def __init__(self, **members):
            self.__dict__.update(members)

    cudaError_t = _Enum(cudaSuccess=0, cudaErrorUnknown=999)
    cudaGraphicsRegisterFlags = _Enum(cudaGraphicsRegisterFlagsWriteDiscard=2)
    cudaMemcpyKind = _Enum(cudaMemcpyDeviceToDevice=3)

    def __init__(self):
        self.calls, self.fail, self.write, self._next = [], None, None, 100

    def _result(self, name):
        if self.fail == name:
            self.fail = None
            if name == "unmap":
                raise RuntimeError("stub: unmap raised")
            return (999,)
        return (0,)

    def cudaSetDevice(self, index):
        self.calls.append(("set_device",))
        return (0,)

    def cudaGetErrorName(self, err):
        return (0, b"cudaErrorUnknown")

    def cudaGraphicsGLRegisterImage(self, glo, target, flags):
        self.calls.append(("register", glo))
        if self.fail == "register":
            self.fail = None
            return (999, None)
        self._next += 1
        return (0, self._next)

    def cudaGraphicsUnregisterResource(self, resource):
        self.calls.append(("unregister", resource))
        return (0,)

    def cudaGraphicsMapResources(self, count, resource, stream):
        self.calls.append(("map", resource))
        return self._result("map")

    def cudaGraphicsSubResourceGetMappedArray(self, resource, index, level):
        return (0, ("array", resource))

    def cudaMemcpy2DToArrayAsync(self, dst, w_offset, h_offset, src, spitch, width, height, kind, stream):
        self.calls.append(("copy", dst))
        result = self._result("copy")
        if result == (0,) and self.write is not None:
            self.write(src, spitch, height)
        return result

    def cudaGraphicsUnmapResources(self, count, resource, stream):
        self.calls.append(("unmap", resource))
        return self._result("unmap")


class _StubEvent:
    def record(self, stream=None):
        pass

    def synchronize(self):
        pass


class _StubStream:
    cuda_stream = 0xABC

    def __init__(self, device=None):
        pass

    def wait_event(self, event):
        pass


@pytest.fixture
def stub_interop(monkeypatch):
    """CUDA-GL interop that 'runs' here: the capability check passes, cuda-python is StubRuntime, CUDA streams and
    events do nothing, and DeviceSlot's buffers live in host memory. Yields the StubRuntime."""
    import torch
    from instrument.render import interop
    runtime = StubRuntime()
    monkeypatch.setattr(interop, "interop_missing", lambda device, ctx=None: None)
    monkeypatch.setattr(interop, "_cudart", lambda: runtime)
    monkeypatch.setattr(torch.cuda, "Stream", _StubStream)
    monkeypatch.setattr(torch.cuda, "Event", _StubEvent)
    monkeypatch.setattr(torch.cuda, "current_stream", lambda device=None: _StubStream())
    yield runtime
