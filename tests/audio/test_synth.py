import time

import numpy as np

from instrument.audio.ring import RingBuffer
from instrument.audio.rtpghi import RTPGHI
from instrument.audio.spectral import OverlapAdd, SpectralConfig, stft_logmag
from instrument.audio.stream import AudioOutput
from instrument.audio.synth import SpectralSynth

CONFIG = SpectralConfig()


def tone_frames(n_frames: int) -> np.ndarray:
    t = np.arange(n_frames * CONFIG.hop) / CONFIG.sample_rate_hz
    logmag, _ = stft_logmag(0.3 * np.sin(2 * np.pi * 440.0 * t), CONFIG)
    return logmag[8:8 + n_frames]  # [n_frames, bins], steady state


def test_synth_thread_keeps_ring_at_target_and_matches_rtpghi():
    frames = tone_frames(64)
    batches = iter(np.array_split(frames, 8))
    ring = RingBuffer(48000, 1)
    synth = SpectralSynth(lambda: next(batches, frames[:0]), ring, CONFIG, blocksize=256, target_blocks=3)
    synth.start()
    deadline = time.monotonic() + 5.0
    while ring.available() < 3 * 256 and time.monotonic() < deadline:
        time.sleep(0.005)
    synth.stop()
    assert synth.error is None
    assert 3 * 256 <= ring.available() < 3 * 256 + 64 * CONFIG.hop
    out = np.empty((ring.available(), 1), np.float32)
    ring.read_into(out)
    rtpghi, ola = RTPGHI(CONFIG), OverlapAdd(CONFIG)
    specs = [rtpghi.push(s) for s in frames[: synth.frames_synthesised]]
    reference = np.concatenate([ola.push(f) for f in specs if f is not None])
    np.testing.assert_array_equal(out[:, 0], reference[: len(out)])  # the thread adds nothing but buffering

def test_synth_reports_bad_frames_instead_of_crashing():
    ring = RingBuffer(4096, 1)
    synth = SpectralSynth(lambda: np.zeros((4, 10)), ring, CONFIG)
    synth.start()
    deadline = time.monotonic() + 2.0
    while synth.error is None and time.monotonic() < deadline:
        time.sleep(0.01)
    synth.stop()
    assert synth.error and "513" in synth.error


def test_device_lost_is_reported_not_raised():
    out = AudioOutput(RingBuffer(1024, 1))
    out._finished()  # what PortAudio calls when the stream ends without stop()
    assert out.device_lost() and "lost" in out.reason


def test_just_in_time_target_rises_a_hop_per_hop_after_each_read():
    """Right after the callback reads, keep one block less one hop below the target; a hop more for every hop's
    duration since, up to the target. Plain synths keep the target all the time."""
    ring = RingBuffer(4096, 1)
    hop_s = CONFIG.hop / CONFIG.sample_rate_hz
    plain = SpectralSynth(lambda: None, ring, CONFIG, blocksize=256, target_blocks=2)
    jit = SpectralSynth(lambda: None, ring, CONFIG, blocksize=256, target_blocks=2, just_in_time=True)
    assert plain.target_now(0.0) == 512
    assert jit.target_now(10.0) == 384  # first sight of read_total counts as a read
    assert jit.target_now(10.0 + 0.5 * hop_s) == 384
    assert jit.target_now(10.0 + 1.01 * hop_s) == 512
    assert jit.target_now(10.0 + 9 * hop_s) == 512  # capped at the target
    ring.write(np.zeros((512, 1), np.float32))
    ring.read_into(np.empty((256, 1), np.float32))  # the callback took a block
    assert jit.target_now(11.0) == 384 and jit.target_now(11.0 + 1.5 * hop_s) == 512
    big = SpectralSynth(lambda: None, ring, CONFIG, blocksize=512, target_blocks=2, just_in_time=True)
    assert big.target_now(20.0) == 640  # 2 blocks of 512 less one block, plus a hop
    assert [big.target_now(20.0 + (k + 0.5) * hop_s) for k in range(1, 5)] == [768, 896, 1024, 1024]


def test_the_loop_counts_turns_that_came_late_and_slow_batches_after_start_up():
    def slow_frames():
        time.sleep(0.006)
        return tone_frames(1)

    synth = SpectralSynth(slow_frames, RingBuffer(4096, 1), CONFIG, blocksize=256, target_blocks=2, poll_s=0.001)
    synth._turn(time.monotonic() - 0.010)  # start-up: not judged
    assert (synth.gaps_late, synth.gap_max_ms, synth.fill_max_ms) == (0, 0.0, 0.0)
    synth.frames_synthesised = 10_000
    synth._turn(time.monotonic() - 0.010)  # 10 ms after the last turn, then a 6 ms batch
    synth._turn(time.monotonic() - 0.002)  # on time
    assert synth.gaps_late == 1 and synth.gap_max_ms >= 10.0 and synth.fill_max_ms >= 6.0
