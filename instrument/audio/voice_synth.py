"""VoiceSynth: the audio process's half of the voice, from the shared feed to the speaker.

    VoiceFeed: z[A] + keyframe timbre + frame index (seqlock), parameter values
        ──> LatentCoupling ──> keyframe timbre (sound keyframes) ──> LatentInterpolator (one latent per hop)
        ──> NumpyDecoder.decode ──> tilt ──> SpectralSynth (RTPGHI + overlap-add) ──> RingBuffer ──> AudioOutput (gain)

The synth's thread ("spectral-synth") calls `frames()` whenever the ring runs below its target; the audio
callback (compiled: it needs no GIL) only copies from the ring. Time here is audio time (hops handed out), never a
clock, so the same frames in give the same samples out. Nothing here imports torch.
"""

from __future__ import annotations

import numpy as np

from instrument.audio.coupling import LatentCoupling, LatentInterpolator, with_keyframe_timbre
from instrument.audio.decoder import NumpyDecoder
from instrument.audio.feed import DECODE_PROBE, OUTPUT_PROBE, STATES, VoiceFeed
from instrument.audio.ring import RingBuffer
from instrument.audio.rtpghi import DEFAULT_LOOKAHEAD
from instrument.audio.spectral import tilt
from instrument.audio.stream import AudioOutput
from instrument.audio.synth import SpectralSynth
from instrument.audio.voice_process import BLOCKSIZE, HOPS_PER_BATCH, JUST_IN_TIME, PARAM_KEYS, POLL_S, TARGET_BLOCKS

RING_BLOCKS = 16


class VoiceSynth:
    def __init__(self, feed: VoiceFeed, decoder: NumpyDecoder, slots: dict[str, int], device=None,
                 hops_per_batch: int = HOPS_PER_BATCH, target_blocks: float = TARGET_BLOCKS,
                 lookahead: int = DEFAULT_LOOKAHEAD, just_in_time: bool = JUST_IN_TIME,
                 compiled_callback: bool = True) -> None:
        self.feed, self.decoder, self.spectral = feed, decoder, decoder.spectral
        self.coupling = LatentCoupling.for_model(decoder, z_dim=feed.z_dim)
        mean = decoder.stats()["latent_mean"]
        self.interp = LatentInterpolator(len(mean), self.spectral.hop_s, initial=mean)
        self.hops_per_batch = int(hops_per_batch)
        self.ring = RingBuffer(BLOCKSIZE * RING_BLOCKS, 1)
        self.synth = SpectralSynth(self.frames, self.ring, self.spectral, BLOCKSIZE, target_blocks, poll_s=POLL_S,
                                   lookahead=lookahead, just_in_time=just_in_time)
        self._slot = {k: slots[k] for k in PARAM_KEYS}
        gain = self._slot["audio.gain"]  # applied by the callback: a gain change is heard one block later
        self.output = AudioOutput(self.ring, self.spectral.sample_rate_hz, BLOCKSIZE, device,
                                  gain=feed.params[gain:gain + 1], probe=feed.header[2:4], compiled=compiled_callback)
        self._z = np.zeros(feed.z_dim, np.float32)  # [z_dim] scratch for the seqlock read
        self._audio = np.zeros(feed.audio_dim + 1, np.float32)  # [audio_dim + 1] keyframe timbre, weight last
        self._keyed = feed.audio_dim == self.coupling.latent_dim  # a feed from another model's sounds: ignored
        self.t_audio_s = 0.0
        self._last_index = -1
        self._probe_seen, self._probe_frame = feed.probe()[0], None  # probes posted before we started are ignored

    def prefill(self) -> None:
        """Fill the ring to its target (so the first callbacks don't underrun); compiles the phase kernel and the
        audio callback (before the heap is frozen, and not in the audio thread)."""
        while self.synth.fill_once(self.synth.target_frames):
            pass
        self.output.prepare()

    def start(self) -> str | None:
        """Pre-fill, open the output, start synthesising; None, or the one-line reason the voice is off."""
        self.prefill()
        if not self.output.start():
            return self.output.reason
        self.synth.start()
        return None

    def stop(self) -> None:
        self.synth.stop()
        self.output.stop()

    def _value(self, key: str) -> float:
        return float(self.feed.params[self._slot[key]])

    def frames(self) -> np.ndarray:
        """The next hops_per_batch log-magnitude frames [hops, bins] (called on the synth thread)."""
        self._take_probe()
        index = self.feed.read_latent(self._z, self._audio)
        if index is not None and index != self._last_index and self._value("timbre.freeze") < 0.5:
            self._last_index = index
            target = self.coupling(self._z, self._value("timbre.amount"), self._value("timbre.offset"),
                                   self._value("timbre.scale"))
            if self._keyed:
                weight = float(self._audio[-1]) * self._value("timbre.keyframes")
                target = with_keyframe_timbre(target, self._audio[:-1], weight)
            self.interp.push(target, self.t_audio_s)
        self._mark_probe()
        latents = self.interp.block(self.t_audio_s, self.hops_per_batch)
        self.t_audio_s += self.hops_per_batch * self.interp.hop_s
        return tilt(self.decoder.decode(latents), self._value("timbre.brightness"), self.spectral)

    # Probes: benchmarks time a change from the main process's call to the DAC.
    def _take_probe(self) -> None:
        seq, frame = self.feed.probe()
        if seq != self._probe_seen:
            self._probe_seen, self._probe_frame = seq, frame

    def _mark_probe(self) -> None:
        """This batch reflects the probed change (a parameter: always; a latent: once its frame arrived): ask the
        output to time this batch's first frame, which starts at stream sample frames_synthesised * hop (RTPGHI's
        frame f enters overlap-add on push f + lookahead, and the hop that push emits starts at sample f * hop)."""
        frame = self._probe_frame
        if frame == OUTPUT_PROBE:  # the callback times those itself
            self._probe_frame = None
        elif frame is not None and (frame == DECODE_PROBE or self._last_index >= frame):
            self.output.mark(self.synth.frames_synthesised * self.spectral.hop, self._probe_seen)
            self._probe_frame = None

    def publish(self, state: str, heartbeat_s: float) -> None:
        """Counters into the feed's report (the main process's stats() reads them)."""
        out = self.output
        self.feed.publish(state=STATES.index(state), **out.stats(), **out.lateness(),
                          frames_synthesised=self.synth.frames_synthesised, synth_gaps_late=self.synth.gaps_late,
                          synth_gap_max_ms=self.synth.gap_max_ms, synth_fill_max_ms=self.synth.fill_max_ms,
                          ring_frames=self.ring.available(), probe_done_seq=out.mark_done_seq,
                          probe_dac_s=out.mark_dac_s, heartbeat_s=heartbeat_s)
