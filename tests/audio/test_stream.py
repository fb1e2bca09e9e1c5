import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from instrument.audio.ring import RingBuffer
from instrument.audio.stream import AudioOutput

CHILD = Path(__file__).with_name("_jack_child.py")
ROOT = Path(__file__).resolve().parents[2]


def run_child(env_extra: dict, *args: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), **env_extra)
    proc = subprocess.run([sys.executable, str(CHILD), *args], env=env, capture_output=True, timeout=60, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_audio_flows_on_jack_dummy(jack_server):
    duration_s = 2.0
    stats = run_child(jack_server, "flow", str(duration_s), str(duration_s))
    print("JACK flow:", stats)
    assert stats["started"], stats["reason"]
    expected = duration_s * 48000 / 256
    assert stats["audio_callbacks"] >= 0.8 * expected, stats
    assert not stats["lost"]


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
    out._entry_lateness(0.050)
    out._entry_lateness(0.090)  # start-up: nothing is counted yet
    assert out.lateness() == {"entry_late_max_ms": 0.0, "entry_late_over_1ms": 0, "entry_late_over_4ms": 0}
    out._callbacks = 5000
    for lag_s in (0.0100, 0.0101, 0.0126, 0.0101, 0.0161, 0.0161, 0.0170):  # +0.1, +2.5, -2.5, +6.0, 0, +0.9 ms
        out._entry_lateness(lag_s)
    late = out.lateness()
    assert late["entry_late_over_1ms"] == 2 and late["entry_late_over_4ms"] == 1
    assert abs(late["entry_late_max_ms"] - 6.0) < 1e-6
