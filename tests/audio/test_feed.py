"""VoiceFeed: the shared block between the main process and the audio process (seqlock, probes, report)."""

import multiprocessing
import time

import numpy as np
import pytest

from instrument.audio.feed import DECODE_PROBE, READ_TRIES, VoiceFeed

Z_DIM, N_PARAMS = 256, 8


@pytest.fixture
def feed():
    f = VoiceFeed.create(N_PARAMS, Z_DIM)
    yield f
    f.close()


def test_latent_round_trip_and_none_before_the_first_write(feed):
    out = np.zeros(Z_DIM, np.float32)
    assert feed.read_latent(out) is None
    z = np.arange(Z_DIM, dtype=np.float32)
    feed.write_latent(7, z)
    assert feed.read_latent(out) == 7 and np.array_equal(out, z)
    assert feed.header[0] % 2 == 0  # even: no write in progress


def test_a_write_in_progress_is_never_used(feed):
    feed.write_latent(1, np.ones(Z_DIM, np.float32))
    feed.header[0] += 1  # the writer is halfway through
    assert feed.read_latent(np.zeros(Z_DIM, np.float32)) is None


class _WriterDuringCopy:
    """A z region whose copy-out races a writer: every copy sees the sequence number move."""

    def __init__(self, feed):
        self.feed, self.copies = feed, 0

    def __array__(self, dtype=None, copy=None):
        self.copies += 1
        self.feed.header[0] += 2  # a whole write happened while we copied
        return np.full(Z_DIM, 9.0, np.float32)


def test_a_read_that_overlapped_a_write_is_retried_then_dropped(feed):
    feed.write_latent(1, np.ones(Z_DIM, np.float32))
    racing = _WriterDuringCopy(feed)
    feed.z = racing
    assert feed.read_latent(np.zeros(Z_DIM, np.float32)) is None
    assert racing.copies == READ_TRIES


def _write_fast(name: str, seconds: float) -> None:
    """Writer process: z filled with its frame index, as fast as it goes."""
    feed = VoiceFeed.attach(name, N_PARAMS, Z_DIM)
    z = np.empty(Z_DIM, np.float32)
    i, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        z.fill(i)
        feed.write_latent(i, z)
        i += 1
    feed.close()


def test_no_torn_latent_across_processes(feed):
    """A writer in another process (a real second core when there is one); every latent read is whole."""
    ctx = multiprocessing.get_context("spawn")
    writer = ctx.Process(target=_write_fast, args=(feed.name, 1.5))
    writer.start()
    out, seen = np.zeros(Z_DIM, np.float32), set()
    while writer.is_alive():
        index = feed.read_latent(out)
        if index is not None:
            assert np.all(out == np.float32(index)), f"torn read at frame {index}: {np.unique(out)[:4]}"
            seen.add(index)
    writer.join()
    assert writer.exitcode == 0 and len(seen) > 10


def test_probes_report_and_stop_flag(feed):
    assert feed.probe() == (0, 0)
    assert feed.post_probe(DECODE_PROBE) == 1 and feed.probe() == (1, DECODE_PROBE)
    assert feed.post_probe(42) == 2 and feed.probe() == (2, 42)
    feed.publish(audio_callbacks=10, audio_underruns=2)
    snap = feed.snapshot()
    assert snap["audio_callbacks"] == 10 and snap["audio_underruns"] == 2 and snap["audio_xruns"] == 0
    assert not feed.stop_requested
    feed.request_stop()
    assert feed.stop_requested


def test_params_are_shared_and_close_unlinks():
    owner = VoiceFeed.create(N_PARAMS, Z_DIM)
    other = VoiceFeed.attach(owner.name, N_PARAMS, Z_DIM)
    owner.params[3] = 0.25
    assert other.params[3] == 0.25
    other.close()
    name = owner.name
    owner.close()
    with pytest.raises(FileNotFoundError):
        VoiceFeed.attach(name, N_PARAMS, Z_DIM)


def test_attaching_with_the_wrong_layout_says_so(feed):
    with pytest.raises(ValueError, match="disagree"):
        VoiceFeed.attach(feed.name, N_PARAMS + 1000, Z_DIM)


def test_the_keyframe_timbre_travels_with_its_latent():
    feed = VoiceFeed.create(4, 8, audio_dim=3)
    try:
        z, audio = np.zeros(8, np.float32), np.zeros(4, np.float32)
        feed.write_latent(1, np.ones(8), np.array([1.0, 2.0, 3.0]), 0.25)
        assert feed.read_latent(z, audio) == 1 and audio.tolist() == [1.0, 2.0, 3.0, 0.25]
        feed.write_latent(2, np.ones(8))  # a frame without one: weight 0
        assert feed.read_latent(z, audio) == 2 and audio[-1] == 0.0
        other = VoiceFeed.attach(feed.name, 4, 8, audio_dim=3)
        feed.write_latent(3, np.ones(8), np.array([4.0, 5.0, 6.0]), 1.0)
        assert other.read_latent(z, audio) == 3 and audio.tolist() == [4.0, 5.0, 6.0, 1.0]
        other.close()
    finally:
        feed.close()
