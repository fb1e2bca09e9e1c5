"""The sound of a re-render: the timbre voice played offline along the video's frames.

    output frames (Shot: z, params, black) ──> audio-latent target per frame (the live coupling, moved towards
        the frame's sound-keyframe timbre as the live voice does) ──> linear glide to one latent per hop
        ──> TimbreVAE.decode ──> tilt, gain, fade to black
        ──> RTPGHI + overlap-add ──> WAV (float32) ──> muxed by VideoWriter

Time is the video's: frame k sits at k / fps, so the sound stays in sync with whatever frame rate the render
uses (in rows mode a log played at an uneven live rate is heard at the render's steady rate, like the picture).
The targets are the live voice's (`LatentCoupling` with the same seed, `with_keyframe_timbre` with the frame's
`audio`/`audio_weight` times timbre.keyframes — from the row in rows mode, from the re-simulated conductor's
`keyframe_sound` actions in events mode — and `timbre.freeze` holding the last one); the
glide is linear between frame times where the live voice glides over its measured arrival interval, so offline
sound follows the same latents but is not sample-identical to what the speakers played. Deterministic: the same
shots give the same samples (RTPGHI seeded with the log's seed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from instrument.audio.voice_process import PARAM_KEYS
from instrument.errors import InstrumentError, ModelError
from instrument.params import PARAMS

SILENT_LOG = -20.0  # log-magnitude offset for gain 0, as the live voice
_DEFAULTS = {p.name: float(p.default) for p in PARAMS}
_KEYS = PARAM_KEYS  # the live voice's parameters, in its order (params[:, 4] is timbre.freeze, [:, 6] keyframes)


def logged_audio(rows: np.ndarray) -> np.ndarray:
    """The rows' own audio latents [n_rows, audio_dim], NaN where a row holds none ([n_rows, 0] without any)."""
    if "audio" not in (rows.dtype.names or ()):
        return np.zeros((len(rows), 0), np.float32)
    out = rows["audio"].astype(np.float32)
    out[rows["has_audio"] == 0] = np.nan
    return out


def frame_controls(shots, header: dict, row_audio: np.ndarray | None = None):
    """Per output frame: visual latent A [n, z_dim], audio params [n, 7] (_KEYS order), black [n], and the
    frame's sound-keyframe timbre [n, audio_dim + 1] (latent, weight last; NaN where none; width 0 when no frame
    has one). A frame whose latent carries none falls back to its row's `row_audio` latent at weight 1."""
    names = [p["name"] for p in header["params"]]
    cols = [names.index(k) if k in names else -1 for k in _KEYS]
    z, params, black, keyed = [], [], [], []
    for shot in shots:
        z.append(np.asarray(shot.latent.z[0], np.float32))
        params.append([shot.params[c] if c >= 0 else _DEFAULTS[k] for k, c in zip(_KEYS, cols)])
        black.append(shot.black)
        keyed.append(_keyed(shot, row_audio))
    width = max((len(k) for k in keyed if k is not None), default=0)
    table = np.full((len(keyed), width), np.nan, np.float32)
    for i, k in enumerate(keyed):
        if k is not None and len(k) == width:
            table[i] = k
    return np.array(z, np.float32), np.array(params, np.float64), np.array(black, np.float64), table


def _keyed(shot, row_audio: np.ndarray | None) -> np.ndarray | None:
    """[audio_dim + 1]: the shot's keyframe timbre and weight, else its row's logged audio latent at weight 1."""
    audio = getattr(shot.latent, "audio", None)
    if audio is not None:
        return np.append(np.asarray(audio, np.float32), np.float32(shot.latent.audio_weight))
    if row_audio is not None and row_audio.shape[1] and not np.isnan(row_audio[shot.row, 0]):
        return np.append(row_audio[shot.row], np.float32(1.0))
    return None


def frame_targets(coupling, z: np.ndarray, params: np.ndarray, keyed: np.ndarray) -> np.ndarray:
    """Audio latent per frame [n, latent_dim], as the live voice aims: the coupling moved audio_weight ·
    timbre.keyframes of the way to the frame's keyframe timbre (where it has one); freeze holds the last."""
    from instrument.audio.coupling import with_keyframe_timbre

    out = np.empty((len(z), coupling.latent_dim), np.float32)
    usable = keyed.shape[1] == coupling.latent_dim + 1
    for i in range(len(z)):
        if i > 0 and params[i, 4] >= 0.5:  # timbre.freeze
            out[i] = out[i - 1]
            continue
        coupled = coupling(z[i], params[i, 1], params[i, 2], params[i, 3])
        has = usable and not np.isnan(keyed[i, 0])
        out[i] = with_keyframe_timbre(coupled, keyed[i, :-1], keyed[i, -1] * params[i, 6]) if has else coupled
    return out


def per_hop(values: np.ndarray, fps: float, n_hops: int, hop_s: float) -> np.ndarray:
    """Frame-rate values [n, ...] glided linearly to hop rate [n_hops, ...] (held after the last frame)."""
    pos = np.minimum(np.arange(n_hops) * hop_s * fps, len(values) - 1)  # fractional frame index of each hop
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, len(values) - 1)
    frac = (pos - lo).reshape((-1,) + (1,) * (values.ndim - 1))
    return (values[lo] * (1 - frac) + values[hi] * frac).astype(values.dtype)


def timbre_track(shots, fps: float, header: dict, vae=None, seed: int | None = None,
                 row_audio: np.ndarray | None = None) -> np.ndarray:
    """Mono float32 audio for the output frames `shots` at `fps` (the length of the video, to the hop).

    row_audio: `logged_audio(rows)` in rows mode, for rows holding an audio latent but frames that carry none."""
    from instrument.audio.coupling import LatentCoupling
    from instrument.audio.render import resynthesise
    from instrument.audio.vae import default_model_path, load_vae, tilt

    vae = vae or load_vae(default_model_path())
    z, params, black, logged = frame_controls(shots, header, row_audio)
    if len(z) == 0:
        return np.zeros(0, np.float32)
    spectral = vae.spectral
    hop_s = spectral.hop / spectral.sample_rate_hz
    n_hops = int(np.ceil(len(z) / fps / hop_s))
    coupling = LatentCoupling.for_model(vae, z_dim=z.shape[1])
    latents = per_hop(frame_targets(coupling, z, params, logged), fps, n_hops, hop_s)
    controls = per_hop(params, fps, n_hops, hop_s)
    fade = 1.0 - per_hop(black, fps, n_hops, hop_s)
    gain = controls[:, 0] * fade
    slope = tilt(np.zeros((1, spectral.bins), np.float32), 1.0, spectral)[0]  # log-magnitude per unit of brightness
    logmag = vae.decode(latents) + controls[:, 5:6].astype(np.float32) * slope
    logmag += np.where(gain > 1e-9, np.log(np.maximum(gain, 1e-9)), SILENT_LOG).astype(np.float32)[:, None]
    seed = int(header.get("seed", 0)) if seed is None else seed
    return resynthesise(logmag, spectral, seed).astype(np.float32)


def write_timbre_wav(shots, fps: float, header: dict, path: Path, row_audio: np.ndarray | None = None) -> Path:
    """Render the timbre track of `shots` into a float WAV at `path`; a ModelError becomes one line."""
    from instrument.audio.render import write_wav
    from instrument.audio.vae import default_model_path, load_vae

    try:
        vae = load_vae(default_model_path())
    except ModelError as e:
        raise InstrumentError(f"no sound for the render: {e}; use --no-audio or --audio WAV") from e
    audio = timbre_track(shots, fps, header, vae, row_audio=row_audio)
    write_wav(path, audio, vae.spectral.sample_rate_hz, "float32")
    return path
