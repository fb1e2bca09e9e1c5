import ctypes
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from instrument.audio import callback_kernel as kernel
from instrument.audio.feed import OUTPUT_PROBE
from instrument.audio.ring import RingBuffer
from instrument.audio.stream import AudioOutput

CHILD = Path(__file__).with_name("_jack_child.py")
ROOT = Path(__file__).resolve().parents[2]


def run_child(env_extra: dict, *args: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), **env_extra)
    proc = subprocess.run([sys.executable, str(CHILD), *args], env=env, capture_output=True, timeout=60, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("kind", ["compiled", "python"])
def test_audio_flows_on_jack_dummy(jack_server, kind):
    duration_s = 2.0
    stats = run_child(jack_server, "flow", str(duration_s), str(duration_s), kind)
    print("JACK flow:", stats)
    assert stats["started"], stats["reason"]
    assert stats["kind"] == kind
    expected = duration_s * 48000 / 256
    assert stats["audio_callbacks"] >= 0.8 * expected, stats
    assert stats["read_total"] + stats["underrun_frames"] == 256 * stats["audio_callbacks"], stats  # a block each
    assert not stats["lost"]
    # the callback says which thread PortAudio runs it on (scheduling.rank_below_callback ranks by it)
    assert stats["callback_thread"] in stats["threads"] and stats["callback_thread"] != stats["main_thread"], stats


def test_the_compiled_callback_plays_on_while_the_gil_is_held(jack_server):
    """The point of the compiled callback: a thread holding the interpreter (here a C-level loop for ~0.3 s) no
    longer stops the audio. The Python callback, run the same way, shows the test can tell the difference."""
    compiled, python = (run_child(jack_server, "gil", kind, "0.3") for kind in ("compiled", "python"))
    print("GIL held:", compiled, python)
    for result in (compiled, python):
        assert result["started"], result["reason"]
        assert result["callbacks_expected"] >= 8, result  # the hold lasted long enough to tell
    assert compiled["callbacks_during"] >= 0.8 * compiled["callbacks_expected"], compiled
    assert python["callbacks_during"] <= 0.3 * python["callbacks_expected"], python


def test_stalled_producer_counts_underruns(jack_server):
    stats = run_child(jack_server, "flow", "1.5", "0.5")
    print("JACK stall:", stats)
    assert stats["started"], stats["reason"]
    assert stats["audio_underruns"] > 10, stats


def test_no_server_no_device_returns_false():
    env = {"JACK_DEFAULT_SERVER": "instrument-test-no-such-server", "JACK_NO_START_SERVER": "1"}
    result = run_child(env, "none")
    print("no device:", result)
    assert result["started"] is False
    assert result["reason"] and "\n" not in result["reason"]


def test_start_reports_bad_device_instead_of_raising():
    out = AudioOutput(RingBuffer(1024, 2), 48000, 256, device=12345)
    assert out.start() is False and "12345" in out.reason
    out.stop()
    assert out.stats() == {"audio_callbacks": 0, "audio_xruns": 0, "audio_underruns": 0} | {
        f"fill_{k}": 0 for k in range(6)}


def test_callback_fills_outdata_with_silence_on_underrun():
    ring = RingBuffer(1024, 2)
    out = AudioOutput(ring)
    ring.write(np.ones((100, 2), np.float32))
    outdata = np.full((256, 2), 5.0, np.float32)
    out._callback(outdata, 256, None, 0)
    assert np.all(outdata[:100] == 1.0) and np.all(outdata[100:] == 0.0)
    stats = out.stats()
    assert (stats["audio_callbacks"], stats["audio_xruns"], stats["audio_underruns"]) == (1, 0, 1)
    assert stats["fill_0"] == 1  # 100 frames queued: less than half a block


def test_fill_histogram_counts_queued_half_blocks():
    ring = RingBuffer(4096, 1)
    out = AudioOutput(ring)
    outdata = np.zeros((256, 1), np.float32)
    for queued in (128, 256, 300, 512, 700, 2000, 4000):  # half blocks: 1, 2, 2, 4, 5, 15 (-> 5), 31 (-> 5)
        ring.write(np.zeros((queued - ring.available(), 1), np.float32))
        out._callback(outdata, 256, None, 0)
    stats = out.stats()
    assert [stats[f"fill_{k}"] for k in range(6)] == [0, 1, 2, 0, 1, 3]


def test_entry_lateness_counts_callbacks_that_started_late_after_start_up():
    """Lateness is against the callback before, so a lasting jump of the stream clock counts once, not forever."""
    out = AudioOutput(RingBuffer(1024, 1))
    kernel._entry_lateness(out._ints, out._floats, 0.050)
    kernel._entry_lateness(out._ints, out._floats, 0.090)  # start-up: nothing is counted yet
    assert out.lateness() == {"entry_late_max_ms": 0.0, "entry_late_over_1ms": 0, "entry_late_over_4ms": 0}
    out._ints[kernel.CALLBACKS] = 5000
    for lag_s in (0.0100, 0.0101, 0.0126, 0.0101, 0.0161, 0.0161, 0.0170):  # +0.1, +2.5, -2.5, +6.0, 0, +0.9 ms
        kernel._entry_lateness(out._ints, out._floats, lag_s)
    late = out.lateness()
    assert late["entry_late_over_1ms"] == 2 and late["entry_late_over_4ms"] == 1
    assert abs(late["entry_late_max_ms"] - 6.0) < 1e-6


def _play_four_blocks(kind: str) -> tuple[np.ndarray, dict, int, float]:
    """Four blocks through one callback kind: a gain change with an output probe on the second, an underrun on the
    third, an xrun flag on the fourth. The compiled one is called as PortAudio would call it (C ABI, pointers)."""
    ring, gain, probe = RingBuffer(4096, 2), np.array([0.5]), np.zeros(2, np.int64)
    out = AudioOutput(ring, 48000, 256, gain=gain, probe=probe)
    ring.write(np.random.default_rng(0).standard_normal((700, 2)).astype(np.float32))
    c_callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_void_p,
                                  ctypes.c_ulong, ctypes.c_void_p)(kernel.portaudio_callback_address())
    blocks, t0 = np.full((4, 256, 2), 9.0, np.float32), time.monotonic()
    for k, block in enumerate(blocks):
        if k == 1:
            gain[0], probe[:] = 1.0, (7, OUTPUT_PROBE)
        times = np.array([0.0, 100.0, 100.004])  # ADC, current, DAC (stream clock): this block plays 4 ms from now
        if kind == "compiled":
            assert c_callback(None, block.ctypes.data, 256, times.ctypes.data, int(k == 3), out._ints.ctypes.data) == 0
        else:
            out._callback(block, 256, SimpleNamespace(currentTime=times[1], outputBufferDacTime=times[2]), k == 3)
    assert out.mark_done_seq == 7 and t0 + 0.004 <= out.mark_dac_s <= time.monotonic() + 0.004
    return blocks, out.stats(), ring.read_total


def test_the_compiled_callback_does_what_the_python_one_does():
    (compiled, stats, read), (python, python_stats, python_read) = map(_play_four_blocks, ("compiled", "python"))
    np.testing.assert_array_equal(compiled, python)
    assert stats == python_stats and read == python_read == 700
    assert (stats["audio_callbacks"], stats["audio_xruns"], stats["audio_underruns"]) == (4, 1, 2)
    raw = np.random.default_rng(0).standard_normal((700, 2)).astype(np.float32)
    np.testing.assert_allclose(compiled[0], 0.5 * raw[:256])
    ramp = compiled[1, :, 0] / raw[256:512, 0]
    assert np.all(np.diff(ramp) > 0) and ramp[0] > 0.5 and abs(ramp[-1] - 1.0) < 1e-6  # 0.5 -> 1, not a step
    assert np.all(compiled[2, 188:] == 0.0) and np.all(compiled[3] == 0.0)  # silence once the ring ran dry


def test_where_the_compiled_callback_cannot_be_built_the_python_one_is_used_and_says_why(monkeypatch):
    def cannot_build():
        raise RuntimeError("no LLVM target\nsecond line")

    monkeypatch.setattr(kernel, "portaudio_callback_address", cannot_build)
    out = AudioOutput(RingBuffer(1024, 1))
    out.prepare()
    assert out.callback_kind == "python (compiled callback unavailable: RuntimeError: no LLVM target)"
    assert AudioOutput(RingBuffer(1024, 1), compiled=False).callback_kind == "python"


def test_a_sounddevice_without_the_base_stream_gets_the_python_callback():
    """What `_open` needs of sounddevice beyond its public API is `_StreamBase` and `_ffi`; without them it falls back."""
    opened = {}
    fake_sd = SimpleNamespace(__version__="9.9", check_output_settings=lambda **kw: None,
                              OutputStream=lambda **kw: opened.setdefault("stream", kw))
    out = AudioOutput(RingBuffer(1024, 1))
    assert out._open(fake_sd)["callback"] == out._callback
    assert out.callback_kind == "python (sounddevice 9.9 has no _ffi)"
