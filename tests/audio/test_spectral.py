import numpy as np
import pytest

from instrument.audio.bench import demo_signals
from instrument.audio.rtpghi import DEFAULT_LOOKAHEAD, RTPGHI, griffin_lim
from instrument.audio.spectral import OverlapAdd, SpectralConfig, istft, spectral_convergence_db, stft, stft_logmag

CONFIG = SpectralConfig()


@pytest.fixture(scope="module")
def signals():
    return demo_signals(CONFIG.sample_rate_hz, duration_s=1.5)


def test_shapes_and_config():
    x = np.zeros(48000)
    logmag, phase = stft_logmag(x, CONFIG)
    assert logmag.shape == (1 + 48000 // 128, 513) and phase.shape == logmag.shape
    with pytest.raises(ValueError, match="hop"):
        SpectralConfig(hop=300)


def test_ola_true_phase_is_exact(signals):
    for name, x in signals.items():
        y = istft(stft(x, CONFIG), CONFIG, len(x))
        edge = CONFIG.n_fft
        assert np.max(np.abs(y - x)[edge:-edge]) <= 1e-5, name


def test_streaming_ola_matches_offline(signals):
    x = signals["noise"]
    spec = stft(x, CONFIG)
    ola = OverlapAdd(CONFIG)
    stream = np.concatenate([ola.push(f) for f in spec] + [ola.flush()])[CONFIG.n_fft // 2:][: len(x)]
    np.testing.assert_array_equal(stream, istft(spec, CONFIG, len(x)))


def test_rtpghi_quality_beats_griffin_lim(signals):
    report = {}
    for name, x in signals.items():
        logmag, _ = stft_logmag(x, CONFIG)
        rt = spectral_convergence_db(RTPGHI(CONFIG).reconstruct(logmag, len(x)), x, CONFIG)
        gl = spectral_convergence_db(griffin_lim(logmag, 1, CONFIG, len(x)), x, CONFIG)
        report[name] = (round(rt, 2), round(gl, 2))
    print("SC dB (RTPGHI, GL-1):", report)
    assert report["tonal"][0] <= -25.0, report
    assert report["fm_sweep"][0] <= -25.0, report
    for name, (rt, gl) in report.items():
        assert rt < gl, (name, report)


def test_streaming_equals_offline_in_random_chunks(signals):
    """One frame of look-ahead (the papers' real-time variant); lookahead 0 is tested below."""
    x = signals["tonal"]
    logmag, _ = stft_logmag(x, CONFIG)
    offline = RTPGHI(CONFIG, lookahead=1).reconstruct(logmag)
    rtpghi, ola, rng = RTPGHI(CONFIG, lookahead=1), OverlapAdd(CONFIG), np.random.default_rng(3)
    parts, i = [], 0
    while i < len(logmag):
        chunk = logmag[i : i + int(rng.integers(1, 17))]
        parts += [ola.push(f) for f in (rtpghi.push(s) for s in chunk) if f is not None]
        i += len(chunk)
    parts += [ola.push(rtpghi.flush()), ola.flush()]
    stream = np.concatenate(parts)[CONFIG.n_fft // 2:][: len(offline)]
    np.testing.assert_array_equal(stream, offline)


def test_no_lookahead_quality_and_streaming(signals):
    """lookahead=0: each frame comes out on its own push; quality stays near the centred difference's on tonal
    material; streaming in random chunks equals offline."""
    for name in ("tonal", "fm_sweep"):
        x = signals[name]
        logmag, _ = stft_logmag(x, CONFIG)
        sc = [spectral_convergence_db(RTPGHI(CONFIG, lookahead=la).reconstruct(logmag, len(x)), x, CONFIG)
              for la in (1, 0)]
        assert sc[1] <= -25.0 and sc[1] - sc[0] < 3.0, (name, sc)
    x = signals["noise"]
    logmag, _ = stft_logmag(x, CONFIG)
    offline = RTPGHI(CONFIG, lookahead=0).reconstruct(logmag)
    assert not np.array_equal(offline, RTPGHI(CONFIG, lookahead=1).reconstruct(logmag))
    rtpghi, ola, rng = RTPGHI(CONFIG, lookahead=0), OverlapAdd(CONFIG), np.random.default_rng(4)
    parts, i = [], 0
    while i < len(logmag):
        chunk = logmag[i : i + int(rng.integers(1, 17))]
        frames = [rtpghi.push(s) for s in chunk]
        assert all(f is not None for f in frames)
        parts += [ola.push(f) for f in frames]
        i += len(chunk)
    assert rtpghi.flush() is None
    stream = np.concatenate(parts + [ola.flush()])[CONFIG.n_fft // 2:][: len(offline)]
    np.testing.assert_array_equal(stream, offline)
    with pytest.raises(ValueError, match="lookahead"):
        RTPGHI(CONFIG, lookahead=2)


def test_rtpghi_latency_and_shape_errors():
    rtpghi = RTPGHI(CONFIG, lookahead=1)
    frame = np.full(CONFIG.bins, -3.0)
    assert rtpghi.push(frame) is None
    assert rtpghi.push(frame).shape == (CONFIG.bins,)
    assert RTPGHI(CONFIG).lookahead == DEFAULT_LOOKAHEAD == 0  # the live voice and offline renders both use it
    assert RTPGHI(CONFIG).push(frame).shape == (CONFIG.bins,)
    with pytest.raises(ValueError, match="513"):
        rtpghi.push(np.zeros(10))


def test_silence_reconstructs_to_silence():
    logmag, _ = stft_logmag(np.zeros(4800), CONFIG)
    assert np.max(np.abs(RTPGHI(CONFIG).reconstruct(logmag))) < 1e-5
