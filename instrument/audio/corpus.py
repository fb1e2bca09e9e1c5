"""The timbre corpus: log-magnitude frames of General-MIDI notes rendered with fluidsynth, plus a few synth tones.

One MIDI file holds every note of the corpus on one channel (drums on channel 10), each note `note_s` long and
followed by `tail_s` of silence for its release; fluidsynth renders it once (reverb and chorus off) as raw float32,
and the known note times cut it into notes. Pitches are stratified across the keyboard and velocities drawn from
a seeded generator, so a config always gives the same corpus. Frames come from `spectral.stft_logmag`.

The result is cached as an .npz (no pickle): logmag float16 [frames, bins], note_id int32 [frames] and a
per-note table (program, pitch, velocity); the file name carries a hash of the config. Notes with
`note_id % HOLDOUT_EVERY == HOLDOUT_PHASE` are held out from training to measure reconstruction.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from instrument.audio.spectral import SpectralConfig, stft_logmag
from instrument.errors import InstrumentError

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
INSTALL_HINT = "DEBIAN_FRONTEND=noninteractive apt-get install -y fluidsynth fluid-soundfont-gm"
DRUM_PROGRAM = 128  # pseudo-program for the GM percussion channel
SYNTH_PROGRAM = 129  # pseudo-program for the synthesised tones and noises
DRUM_NOTES = (35, 38, 42, 46, 49, 51, 56, 60, 64, 69, 75, 81)  # kick, snare, hats, cymbals, hand percussion
HOLDOUT_EVERY, HOLDOUT_PHASE = 10, 7
TICKS_PER_BEAT, TEMPO_US = 960, 1_000_000  # 1 beat = 1 s, so 1 tick = 1/960 s


class CorpusError(InstrumentError):
    """The corpus cannot be rendered or read (no fluidsynth, no soundfont, bad WAV)."""


@dataclass(frozen=True)
class CorpusConfig:
    notes_per_program: int = 8     # notes per GM program (and per drum kit / synth family)
    note_s: float = 0.5            # key held, seconds
    tail_s: float = 0.25           # release after note-off, seconds
    programs: int = 128            # GM programs 0..programs-1
    drums: bool = True             # add DRUM_NOTES on the percussion channel
    synth_tones: bool = True       # add sines, saws and noises
    gain: float = 0.5              # fluidsynth master gain
    seed: int = 0

    def key(self) -> str:
        return hashlib.sha1(json.dumps(dataclasses.asdict(self), sort_keys=True).encode()).hexdigest()[:10]


@dataclass(frozen=True)
class Note:
    program: int   # 0..127 GM program, DRUM_PROGRAM or SYNTH_PROGRAM
    pitch: int     # MIDI note number
    velocity: int  # 1..127


# Note plan
def plan_notes(config: CorpusConfig) -> list[Note]:
    """Every note of the corpus, in render order: pitches stratified over 36..95, velocities seeded."""
    rng = np.random.default_rng(config.seed)
    n = config.notes_per_program
    notes = []
    for program in range(config.programs):
        lows = 36 + (np.arange(n) * 60) // n  # one pitch per equal slice of 36..95
        pitches = lows + rng.integers(0, max(1, 60 // n), n)
        velocities = rng.integers(40, 128, n)
        notes += [Note(program, int(p), int(v)) for p, v in zip(pitches, velocities)]
    if config.drums:
        picks = rng.choice(DRUM_NOTES, size=min(len(DRUM_NOTES), 3 * n), replace=False)
        notes += [Note(DRUM_PROGRAM, int(p), int(rng.integers(60, 128))) for p in picks]
    if config.synth_tones:
        notes += [Note(SYNTH_PROGRAM, int(p), int(rng.integers(40, 128))) for p in 36 + rng.integers(0, 60, 3 * n)]
    return notes


def write_midi(notes: list[Note], config: CorpusConfig, path: Path) -> None:
    """One type-0 MIDI file: each GM/drum note at k * (note_s + tail_s) seconds; synth notes are rests."""
    import mido

    slot_ticks = round((config.note_s + config.tail_s) * TICKS_PER_BEAT)
    hold_ticks = round(config.note_s * TICKS_PER_BEAT)
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=TEMPO_US, time=0)])
    wait = 0
    for note in notes:
        if note.program == SYNTH_PROGRAM:
            wait += slot_ticks
            continue
        channel = 9 if note.program == DRUM_PROGRAM else 0
        if channel == 0:
            track.append(mido.Message("program_change", channel=0, program=note.program, time=wait))
            wait = 0
        track.append(mido.Message("note_on", channel=channel, note=note.pitch, velocity=note.velocity, time=wait))
        track.append(mido.Message("note_off", channel=channel, note=note.pitch, velocity=0, time=hold_ticks))
        wait = slot_ticks - hold_ticks
    track.append(mido.MetaMessage("end_of_track", time=wait))
    midi = mido.MidiFile(type=0, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.append(track)
    midi.save(str(path))


# Rendering
def check_fluidsynth(soundfont: Path = SOUNDFONT) -> None:
    if shutil.which("fluidsynth") is None:
        raise CorpusError(f"fluidsynth is not installed; run: {INSTALL_HINT}")
    if not Path(soundfont).is_file():
        raise CorpusError(f"soundfont '{soundfont}' not found; run: {INSTALL_HINT}")


def render_fluidsynth(midi_path: Path, config: CorpusConfig, sample_rate_hz: int,
                      soundfont: Path = SOUNDFONT) -> np.ndarray:
    """Mono float32 [samples] of a MIDI file, via `fluidsynth -ni -T raw -O float` (reverb and chorus off)."""
    check_fluidsynth(soundfont)
    raw = midi_path.with_suffix(".raw")
    cmd = ["fluidsynth", "-ni", "-R", "0", "-C", "0", "-g", str(config.gain), "-T", "raw", "-O", "float",
           "-E", "little", "-F", str(raw), "-r", str(sample_rate_hz), str(soundfont), str(midi_path)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0 or not raw.is_file():
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise CorpusError(f"fluidsynth failed on '{midi_path}' (exit {done.returncode}): {last}")
    stereo = np.fromfile(raw, dtype="<f4").reshape(-1, 2)
    return stereo.mean(axis=1)


def synth_tone(note: Note, index: int, config: CorpusConfig, sample_rate_hz: int) -> np.ndarray:
    """A synthesised note [note_s + tail_s seconds]: sine, band-limited saw, white or band noise, by index."""
    rng = np.random.default_rng([config.seed, index])
    n_note, n_all = int(config.note_s * sample_rate_hz), int((config.note_s + config.tail_s) * sample_rate_hz)
    t = np.arange(n_all) / sample_rate_hz
    f0 = 440.0 * 2.0 ** ((note.pitch - 69) / 12)
    kind = index % 4
    if kind == 0:
        x = np.sin(2 * np.pi * f0 * t)
    elif kind == 1:
        ks = np.arange(1, int(0.45 * sample_rate_hz / f0) + 1)
        x = (np.sin(2 * np.pi * f0 * t[:, None] * ks) / ks).sum(axis=1) * 0.6
    else:
        x = rng.standard_normal(n_all) * 0.3
        if kind == 3:  # first-order low-pass in the FFT domain: darker noise, cutoff 4 x f0
            f = np.fft.rfftfreq(n_all, 1.0 / sample_rate_hz)
            x = np.fft.irfft(np.fft.rfft(x) / np.sqrt(1.0 + (f / (4.0 * f0)) ** 2), n=n_all) * 3.0
    env = np.minimum(1.0, np.minimum(t / 0.01, np.maximum(0.0, (n_note / sample_rate_hz + 0.05 - t) / 0.05)))
    return (x * env * 0.3 * note.velocity / 127).astype(np.float32)


# Frames and cache
def build_corpus(config: CorpusConfig = CorpusConfig(), spectral: SpectralConfig = SpectralConfig(),
                 soundfont: Path = SOUNDFONT) -> dict[str, np.ndarray]:
    """Render and analyse: {"logmag" float16 [frames, bins], "note_id" int32 [frames], "notes" int32 [notes, 3]}."""
    notes = plan_notes(config)
    sr = spectral.sample_rate_hz
    slot = int(round((config.note_s + config.tail_s) * sr))
    with tempfile.TemporaryDirectory(prefix="timbre-corpus-") as tmp:
        midi_path = Path(tmp) / "corpus.mid"
        write_midi(notes, config, midi_path)
        audio = render_fluidsynth(midi_path, config, sr, soundfont)
    audio = np.concatenate([audio, np.zeros(max(0, slot * len(notes) - len(audio)), np.float32)])
    logmags, ids = [], []
    for k, note in enumerate(notes):
        seg = synth_tone(note, k, config, sr) if note.program == SYNTH_PROGRAM else audio[k * slot:(k + 1) * slot]
        logmag, _ = stft_logmag(seg, spectral)
        logmags.append(logmag.astype(np.float16))
        ids.append(np.full(len(logmag), k, np.int32))
    table = np.array([[n.program, n.pitch, n.velocity] for n in notes], dtype=np.int32)
    return {"logmag": np.concatenate(logmags), "note_id": np.concatenate(ids), "notes": table}


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "instrument" / "timbre"


def load_corpus(config: CorpusConfig = CorpusConfig(), cache_dir: Path | None = None,
                spectral: SpectralConfig = SpectralConfig()) -> dict[str, np.ndarray]:
    """The corpus for `config`, from the .npz cache when present, else rendered and cached."""
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = cache_dir / f"corpus-{config.key()}-{spectral.sample_rate_hz}-{spectral.n_fft}-{spectral.hop}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in ("logmag", "note_id", "notes")}
    data = build_corpus(config, spectral)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **data, config=np.array(json.dumps(dataclasses.asdict(config))))
    tmp.replace(path)
    return data


def holdout_mask(note_id: np.ndarray) -> np.ndarray:
    """True for frames of held-out notes (note_id % HOLDOUT_EVERY == HOLDOUT_PHASE)."""
    return np.asarray(note_id) % HOLDOUT_EVERY == HOLDOUT_PHASE


# WAV input
def read_wav(path: str | Path, sample_rate_hz: int = 48000) -> np.ndarray:
    """Mono float32 [samples] of a 16/24/32-bit PCM WAV at `sample_rate_hz` (channels averaged)."""
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as w:
            rate, width, channels = w.getframerate(), w.getsampwidth(), w.getnchannels()
            raw = w.readframes(w.getnframes())
    except (wave.Error, EOFError, OSError) as e:
        raise CorpusError(f"'{path}' is not a readable PCM WAV ({e}); convert it to 16-bit PCM WAV") from None
    if rate != sample_rate_hz:
        raise CorpusError(f"'{path}' has sample rate {rate} Hz, expected {sample_rate_hz} Hz; resample it first")
    return _pcm_to_float(raw, width, path).reshape(-1, channels).mean(axis=1).astype(np.float32)


def _pcm_to_float(raw: bytes, width: int, path: Path) -> np.ndarray:
    if width == 2:
        return np.frombuffer(raw, "<i2") / 32768.0
    if width == 4:
        return np.frombuffer(raw, "<i4") / 2147483648.0
    if width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        return (((b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)) << 8) >> 8) / 8388608.0
    raise CorpusError(f"'{path}' has {8 * width}-bit samples; expected 16, 24 or 32-bit PCM")


def wav_folder_frames(folder: str | Path, spectral: SpectralConfig = SpectralConfig()) -> dict[str, np.ndarray]:
    """Corpus-shaped dict from every *.wav under `folder` (one note_id per file)."""
    files = sorted(Path(folder).rglob("*.wav")) + sorted(Path(folder).rglob("*.WAV"))
    if not files:
        raise CorpusError(f"no .wav files under '{folder}'; pass a folder of 48 kHz WAV files or 'soundfont'")
    logmags, ids = [], []
    for k, f in enumerate(files):
        logmag, _ = stft_logmag(read_wav(f, spectral.sample_rate_hz), spectral)
        logmags.append(logmag.astype(np.float16))
        ids.append(np.full(len(logmag), k, np.int32))
    table = np.full((len(files), 3), -1, np.int32)
    return {"logmag": np.concatenate(logmags), "note_id": np.concatenate(ids), "notes": table}
