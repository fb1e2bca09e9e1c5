"""The instrument's voice: the visual trajectory, heard through the latent-timbre VAE.

    conductor.last_frame.z[A] ──> LatentCoupling ──> LatentInterpolator (one latent per hop, no steps)
        ──> TimbreVAE.decode ──> tilt, gain ──> SpectralSynth (RTPGHI + overlap-add) ──> RingBuffer ──> AudioOutput

The synth's thread ("spectral-synth") calls `frames()` whenever the ring runs below its target; the sounddevice
callback only copies from the ring. Time here is audio time (hops handed out), never a clock, so the same
frames in give the same samples out. Without an output device the voice says why in one line and stays off:
the show goes on silent.
"""

from __future__ import annotations

import sys

import numpy as np

from instrument.audio.coupling import LatentCoupling, LatentInterpolator
from instrument.audio.ring import RingBuffer
from instrument.audio.spectral import SpectralConfig
from instrument.audio.stream import AudioOutput
from instrument.audio.synth import SpectralSynth
from instrument.audio.vae import default_model_path, load_vae, tilt

HOPS_PER_BATCH = 8       # decoded per call: 8 x 128 samples = 21 ms of sound, ~0.2 ms of decoding
BLOCKSIZE = 256          # audio callback block (5.3 ms at 48 kHz)
TARGET_BLOCKS = 6        # ring fill kept ahead of the callback (32 ms): fewer underruns than 3 blocks (measured)
GIL_SWITCH_S = 0.001     # the callback is Python and needs the GIL within a 5.3 ms period; 5 ms default is too long
SILENT_LOG = -20.0       # log-magnitude offset for gain 0 (|X| * e^-20: inaudible)


class TimbreVoice:
    def __init__(self, store, conductor, z_dim: int, device=None, model_path=None):
        self.store, self.conductor = store, conductor
        self.vae = load_vae(model_path or default_model_path())
        self.spectral: SpectralConfig = self.vae.spectral
        self.coupling = LatentCoupling.for_model(self.vae, z_dim=z_dim)
        mean = self.vae.stats()["latent_mean"]
        self.interp = LatentInterpolator(len(mean), self.spectral.hop / self.spectral.sample_rate_hz, initial=mean)
        self.ring = RingBuffer(BLOCKSIZE * 16, 1)
        self.synth = SpectralSynth(self.frames, self.ring, self.spectral, BLOCKSIZE, TARGET_BLOCKS)
        self.output = AudioOutput(self.ring, self.spectral.sample_rate_hz, BLOCKSIZE, device)
        self._slots = {k: store.slot(k) for k in ("audio.gain", "timbre.amount", "timbre.offset", "timbre.scale",
                                                  "timbre.freeze", "timbre.brightness")}
        self.t_audio_s = 0.0
        self._last_index = -1

    def start(self) -> str | None:
        """Open the output and start synthesising; returns None, or the one-line reason the voice is off."""
        sys.setswitchinterval(GIL_SWITCH_S)  # process-wide; measured harmless to the generator
        while self.synth.fill_once():  # pre-fill, so the first callbacks don't underrun
            pass
        if not self.output.start():
            return self.output.reason
        self.synth.start()
        return None

    def stop(self) -> None:
        self.synth.stop()
        self.output.stop()

    def _value(self, key: str) -> float:
        return float(self.store.values[self._slots[key]])

    def frames(self) -> np.ndarray:
        """The next HOPS_PER_BATCH log-magnitude frames [hops, bins] (called on the synth thread)."""
        latent = self.conductor.last_frame
        if latent is not None and latent.index != self._last_index and self._value("timbre.freeze") < 0.5:
            self._last_index = latent.index
            target = self.coupling(latent.z[0], self._value("timbre.amount"), self._value("timbre.offset"),
                                   self._value("timbre.scale"))
            self.interp.push(target, self.t_audio_s)
        latents = self.interp.block(self.t_audio_s, HOPS_PER_BATCH)
        self.t_audio_s += HOPS_PER_BATCH * self.interp.hop_s
        logmag = tilt(self.vae.decode(latents), self._value("timbre.brightness"), self.spectral)
        gain = self._value("audio.gain")
        return logmag + (np.log(gain) if gain > 1e-9 else SILENT_LOG)

    def stats(self) -> dict:
        out = self.output.stats()
        if self.synth.error:
            out["audio_error"] = self.synth.error
        return out
