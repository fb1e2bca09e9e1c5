"""Sound keyframes: a WAV file, encoded once into the one timbre latent a keyframe slot carries.

    sounds folder: NAME.wav ──> read_wav ──> STFT log-magnitudes ──> TimbreVAE.encode (posterior means per frame)
        ──> mean over the sounding frames ──> timbre latent [latent_dim] ──> Action("keyframe_sound", ...)

Why one latent (the mean posterior over the frames that sound) and not a short latent sequence looped: a loop
needs a playhead, audio-time state that the frame-rate conductor does not own and that the z-log would have to
carry to replay; its seam clicks unless cross-faded; and the VAE encodes frames independently, so the mean of their
posteriors is the sound's stationary timbre — interpolating two of them is LTS's "interpolate two" held at one
frame. What it loses: the sound's own motion (attack, vibrato); the picture supplies the motion instead.
Silent frames (under the model's floor) are left out so a WAV's tail does not pull the timbre towards silence.

Names, like scene presets: letters, digits, '-' and '_' (".wav" optional), looked up in the user's folder
(~/.config/instrument/sounds/) or the folders given — no name can reach a path outside them. Encoding happens on
the caller's thread (an OSC handler: 7 ms for 1 s of sound, 58 ms for 30 s, once per file; docs/timbre.md); the
conductor then gets the latent itself inside the action, so a z-log's events replay it without the file.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from instrument.errors import InstrumentError
from instrument.named import find_named, names_in

USER_FOLDER = Path.home() / ".config" / "instrument" / "sounds"
MAX_SECONDS = 30.0        # longer files are refused: encoding runs on an input thread
SOUNDING_DB = 60.0        # frames more than this under the loudest frame do not count towards the timbre
CANDIDATE_FRAMES = 1024   # at most this many STFT frames are analysed, evenly spaced through the file
MAX_FRAMES = 256          # and the mean is taken over at most this many sounding ones: the cost is bounded


class SoundError(InstrumentError):
    pass


def sound_names(folders: tuple[Path, ...]) -> list[str]:
    return names_in(folders, ".wav")


def find_sound(name: str, folders: tuple[Path, ...]) -> Path:
    """The WAV of sound `name` (".wav" optional); the name can only pick a file inside the sound folders."""
    stem = name[:-4] if isinstance(name, str) and name.lower().endswith(".wav") else name
    return find_named(stem, folders, ".wav", "sound", SoundError, _where(folders))


def parse_sound_option(entry: str) -> tuple[int, str]:
    """'SLOT=NAME' (the play command's --sound) as (slot, name); a one-line SoundError otherwise."""
    slot, sep, name = str(entry).partition("=")
    if not sep or not slot.strip().isdigit() or not name.strip():
        raise SoundError(f"--sound expects SLOT=NAME, e.g. 1=cello, got {entry!r}")
    return int(slot), name.strip()


def timbre_latent_dim(model_path=None) -> int:
    """The latent size of the timbre model (the shipped one by default) from its header; 0 when it is unusable."""
    import json

    from safetensors import safe_open

    from instrument.audio.decoder import default_model_path
    try:
        with safe_open(str(model_path or default_model_path()), framework="numpy") as f:
            return int(json.loads((f.metadata() or {})["config"])["latent_dim"])
    except Exception:  # why: no model means no voice and no sound keyframes, which the voice reports itself
        return 0


def timbre_latent(vae, path: str | Path) -> np.ndarray:
    """The timbre latent float32 [latent_dim] of a WAV: the mean posterior latent over its sounding frames."""
    from instrument.audio.corpus import CorpusError, read_wav
    from instrument.audio.spectral import LOG_EPS, analysis_window, frame_signal

    try:
        audio = read_wav(path, vae.spectral.sample_rate_hz)
    except CorpusError as e:
        raise SoundError(str(e)) from None
    seconds = len(audio) / vae.spectral.sample_rate_hz
    if seconds > MAX_SECONDS:
        raise SoundError(f"'{path}' lasts {seconds:.1f} s; sound keyframes take at most {MAX_SECONDS:g} s, trim it")
    frames = frame_signal(audio, vae.spectral)  # [frames, n_fft]
    frames = frames[_spread(len(frames), CANDIDATE_FRAMES)] * analysis_window(vae.spectral)
    logmag = np.log(np.abs(np.fft.rfft(frames, axis=-1)) + LOG_EPS).astype(np.float32)  # [frames, bins]
    peak = logmag.max(axis=1) if len(logmag) else np.zeros(0)
    floor = vae.config.floor_log + 3.0
    sounding = (peak > floor) & (peak > peak.max(initial=floor) - SOUNDING_DB / 20.0 * np.log(10.0))
    if not sounding.any():
        raise SoundError(f"'{path}' is silent to the timbre model (every frame under its floor); use a louder WAV")
    chosen = np.flatnonzero(sounding)
    return vae.encode(logmag[chosen[_spread(len(chosen), MAX_FRAMES)]]).mean(axis=0).astype(np.float32)


def _spread(n: int, most: int) -> np.ndarray:
    """Indices of at most `most` of n items, evenly spaced, first and last included."""
    return np.unique(np.linspace(0, n - 1, min(n, most)).round().astype(int)) if n else np.zeros(0, int)


class SoundLibrary:
    """Sound names -> timbre latents, encoded on first use and kept (the VAE is loaded on first use too)."""

    def __init__(self, folders: tuple[Path, ...] = (USER_FOLDER,), model_path=None, vae=None):
        self.folders = tuple(Path(f) for f in folders)
        self.model_path, self._vae = model_path, vae
        self._cache: dict[Path, tuple[float, np.ndarray]] = {}  # path -> (mtime, latent)
        self._lock = threading.Lock()  # OSC and MIDI threads may both ask

    @property
    def vae(self):
        if self._vae is None:
            from instrument.audio.vae import default_model_path, load_vae
            self._vae = load_vae(self.model_path or default_model_path())
        return self._vae

    def latent(self, name: str) -> np.ndarray:
        """The timbre latent of sound `name` (a copy); SoundError in one line for a bad name or file."""
        path = find_sound(name, self.folders)
        with self._lock:
            mtime = path.stat().st_mtime
            hit = self._cache.get(path)
            if hit is None or hit[0] != mtime:  # a file replaced during the show is encoded again
                hit = self._cache[path] = (mtime, timbre_latent(self.vae, path))
        return hit[1].copy()


def _where(folders: tuple[Path, ...]) -> str:
    return " or ".join(f"'{f}'" for f in folders) or "no sound folder"
