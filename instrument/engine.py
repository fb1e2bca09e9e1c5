"""The engine: the one place that creates every thread and hand-off, starts them, stops them, and reports.

    keys (main thread) ──> Conductor.post ──┐
    ParamStore (one table) ──────────────────┼─> generator thread: conductor.step -> mapping -> mix -> synthesis
                                             │                 └──> LatestFrame, pinned (or DeviceSlot, on the GPU)
    main thread: window/offscreen <── FramePipeline (shaders/) <── Presentation: upload, or CUDA-GL interop
                                                                   (takes the newest frame, never waits)

The main thread owns the GL context (GLFW requires it) and paces the display; the generator thread owns the
model. Presentation (render/presentation.py) picks CUDA-GL interop where it can run, else the pinned copy, and
falls back to the pinned copy mid-show if interop fails. Statistics are counted where they happen and read in
engine_report.py.
"""

from __future__ import annotations

import gc
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from instrument import engine_report
from instrument.audio.sounds import USER_FOLDER as SOUNDS_FOLDER, SoundLibrary, parse_sound_option, timbre_latent_dim
from instrument.audio.voice import TimbreVoice
from instrument.control.keys import key_action
from instrument.control.midi import MidiInput
from instrument.control.midi_map import USER_MAP_PATH, load_preset
from instrument.control.osc import OscServer
from instrument.control.scenes import load_scene
from instrument.control.oscquery import OscQueryServer
from instrument.errors import DisplayError
from instrument.latent.conductor import Action, Conductor
from instrument.latent.directions import knob_directions
from instrument.models.loader import LoadedModel, load_model, pick_device
from instrument.params import ParamStore, Smoother
from instrument.record.session import RecordingSwitch
from instrument.sysio import quiet_c_stderr
from instrument.render.generator_thread import GeneratorThread
from instrument.render.presentation import Presentation
from instrument.render.slot import LatestFrame

HUD_PERIOD_S = 0.25
CATCH_UP_PERIODS = 4       # a display stall shorter than this many periods is caught up, longer ones skipped
FIRST_FRAME_WAIT_S = 10.0  # longest wait for the generator's first frame before the display starts anyway
DISPLAY_KEYS = ("fx.feedback.amount", "fx.feedback.zoom", "fx.feedback.rotate", "fx.pixelsort.amount",
                "fx.pixelsort.threshold", "fx.pixelsort.direction", "hud.visible")


@dataclass
class PlayOptions:
    model: str | None = None
    size: tuple[int, int] = (768, 768)  # window / offscreen framebuffer, pixels
    seconds: float | None = None
    offscreen: bool = False
    fullscreen: bool = False
    seed: int = 0
    device: str = "auto"
    fps: float = 60.0                   # display rate when vsync does not pace the loop
    vsync: bool = True
    osc: bool = True
    osc_host: str = "127.0.0.1"         # 0.0.0.0 only when the performer asks for it
    osc_port: int = 9000                # 0: any free port
    oscquery_port: int | None = 9001    # None: no OSCQuery discovery server
    record: str | None = None           # z-log path to record from the first frame
    scene: str | None = None            # scene preset (presets/scenes/<name>.toml) applied at start
    sounds: list[str] | None = None     # "SLOT=NAME": keyframe slots carrying sounds (audio/sounds.py) from the start
    sounds_dir: str | None = None       # where sound names are looked up; None: ~/.config/instrument/sounds
    audio: bool = True
    audio_device: str | None = None     # sounddevice name or index; None: the default output
    midi: bool = True
    midi_map: str | None = None         # preset name or file; None: the user's learned map, else 'generic'
    midi_api: str = "auto"
    midi_ports: list[str] | None = None  # substrings of port names; None: every input
    midi_feedback: bool | None = None   # values back to the controllers' lights; None: as the mapping says


def _midi_mapping(name: str | None):
    """The MIDI map asked for, else the user's learned map, else the generic 8-knob/8-fader preset."""
    if name:
        return load_preset(name)
    return load_preset(str(USER_MAP_PATH)) if USER_MAP_PATH.is_file() else load_preset("generic")


class Engine:
    def __init__(self, options: PlayOptions, log=print):
        self.options = options
        self.log = log
        self.store = ParamStore()
        self.device = pick_device(options.device)
        self.model: LoadedModel = load_model(options.model, self.device)
        G = self.model.generator
        self.resolution = (G.img_resolution, G.img_resolution)  # (width, height)
        self.conductor = Conductor(self.store, G.z_dim, G.num_ws, options.seed, audio_dim=timbre_latent_dim())
        self.sounds = SoundLibrary((Path(options.sounds_dir),) if options.sounds_dir else (SOUNDS_FOLDER,))
        self.slot = LatestFrame(self.resolution[1], self.resolution[0], pin_memory=self.device.type == "cuda")
        self.generator = GeneratorThread(G, self.device, self.conductor, self.slot)
        self.directions = knob_directions(options.model, self.model, log)  # what direction.1..8 move
        self.generator.renderer.set_directions(self.directions.scaled)
        self.osc = OscServer(self.store, self.conductor, options.osc_host, options.osc_port) if options.osc else None
        self.oscquery = None
        self.midi = None
        if options.midi:
            with quiet_c_stderr():  # ALSA/JACK print their own failures; midi.message says it in one line
                self.midi = MidiInput(self.store, self.conductor, _midi_mapping(options.midi_map),
                                      options.midi_api, options.midi_ports, feedback=options.midi_feedback)
        self.voice = None
        if options.audio:
            self.voice = TimbreVoice(self.store, self.conductor, G.z_dim, options.audio_device)
        self.recorder = RecordingSwitch(self.model, self.store, self.conductor, self.generator, options.seed,
                                        options.fps, log, directions=self.directions)
        if options.scene:
            load_scene(options.scene, self.store)
        if options.record:
            self.recorder.start(options.record)
        for entry in options.sounds or ():  # after the recorder: a z-log's events replay them
            self.attach_sound(*parse_sound_option(entry))
        self.window, self.surface = self._open_display()
        from instrument.render.pipeline import FramePipeline  # GL imports only once a display exists
        self.pipeline = FramePipeline(self.surface.ctx, self.resolution)
        self.presentation = Presentation(self.slot, self.device, log)  # self.slot: the pinned copy, the fallback
        self.generator.use_slot(self.presentation.start(self.surface.ctx, self.pipeline, self.resolution))
        self.presentation.on_switch = self.generator.use_slot
        self._fx_smoother = Smoother(self.store)
        self._fx_slots = [self.store.slot(k) for k in DISPLAY_KEYS]
        self.fx = {k: self.store.get(k) for k in DISPLAY_KEYS}
        self.displayed = 0
        self.display_errors = 0
        self.latency_ms = deque(maxlen=4096)
        self.display_ms = deque(maxlen=4096)
        self.upload_ms = deque(maxlen=4096)
        self._quit = False
        self._started_at = None
        self._last_hud = 0.0
        self._notice = ("", 0.0)
        self.late_frames = 0  # display deadlines missed by more than half a period
        self._first_drawn = self._last_drawn = 0.0

    # Set-up.
    def _open_display(self):
        """A window when a display is there and asked for, else the EGL offscreen surface."""
        from instrument.render.offscreen import Offscreen
        if not self.options.offscreen:
            from instrument.render.window import Window
            try:
                window = Window(self.options.size, title=f"instrument — {self.model.name}",
                                fullscreen=self.options.fullscreen, vsync=self.options.vsync)
                window.on_key = self.on_key
                return window, window
            except DisplayError as e:
                self.log(f"{e}; running offscreen instead")
        return None, Offscreen(self.options.size)

    def on_key(self, name: str) -> None:
        action = key_action(name)
        if isinstance(action, Action):
            self.conductor.post(action)
        elif action == "quit":
            self._quit = True
        elif action == "record":
            self.recorder.toggle()
        elif action == "learn" and self.midi is not None:
            self.midi.arm_last()  # the HUD shows what is armed, then what was bound
        elif action == "hud":
            self.store.set("hud.visible", 1.0 - self.store.get("hud.visible"))
        elif action == "fullscreen" and self.window is not None:
            self.window.toggle_fullscreen()

    # Running.
    def _start_control(self) -> None:
        """MIDI and OSC in (and OSCQuery discovery). A missing MIDI API or a port in use costs that control
        layer, never the show."""
        if self.midi is not None:
            with quiet_c_stderr():
                self.midi.start()
            if not self.midi.available:
                self.log(self.midi.message)
        if self.osc is None:
            return
        try:
            self.osc.start()
        except OSError as e:
            self.log(f"{e}; playing without OSC")
            self.osc = None
            return
        self.osc.add_action("record/start", lambda *path: self.recorder.start(*path[:1]), "[s]",
                            "Start recording a z-log [to this path]")
        self.osc.add_action("record/stop", lambda: self.recorder.stop(), "", "Stop recording")
        if self.midi is not None:
            self.midi.router.last_param = lambda: self.osc.last_param if self.osc is not None else ""
            self.osc.add_action("midi/learn_last", lambda: self.midi.arm_last(), "",
                                "Arm MIDI learn for the parameter last changed from OSC or keys")
            self.osc.add_action("midi/learn", lambda target, *args: self.midi.arm(target, *args), "s...",
                                "Arm MIDI learn: the next control moved binds to <parameter or action> [args]")
        self.osc.add_action("preset/load", lambda name: load_scene(name, self.store), "s",
                            "Apply the scene preset <name> (presets/scenes/<name>.toml)")
        self.osc.add_action("keyframe/sound", self.attach_sound, "is",
                            "Let keyframe <slot> carry the timbre of sound <name> (a WAV in the sounds folder)")
        if self.options.oscquery_port is not None:
            try:
                self.oscquery = OscQueryServer(self.osc, port=self.options.oscquery_port)
                self.oscquery.start()
            except OSError as e:
                self.log(f"OSCQuery discovery off: port {self.options.oscquery_port} ({e.strerror or e}); "
                         "pick another with --oscquery-port")
                self.oscquery = None

    def attach_sound(self, slot, name) -> None:
        """Encode sound `name` (on this thread: an OSC handler or start-up) and post it to keyframe `slot`; the
        action carries the latent itself, so a z-log replays it without the file."""
        slot = self.conductor.keyframes.check_slot(slot)
        self.conductor.post(Action("keyframe_sound", (slot, self.sounds.latent(name), str(name))))

    def _start_voice(self) -> None:
        """Sound, when an output device is there; otherwise one line and the show goes on silent."""
        if self.voice is None:
            return
        with quiet_c_stderr():  # PortAudio's host APIs print their own probing failures
            reason = self.voice.start()
        if reason is not None:
            self.log(f"{reason}; playing without sound (--no-audio hides this)")
            self.voice = None
        else:
            # e.g. "audio: playing (SCHED_FIFO 4, below the callback's 5, compiled callback)"
            self.log(f"audio: playing ({self.voice.scheduling})")

    def start(self) -> None:
        """Start the generator and wait (bounded) for its first frame, so the show opens on an image.

        The first frame also builds the traced graph, which costs a CPU second here; doing it before the display
        loop keeps that stall out of the performance. The window stays responsive meanwhile."""
        self._start_control()
        self.generator.start()
        self._start_voice()
        deadline = time.perf_counter() + FIRST_FRAME_WAIT_S
        while self.presentation.published == 0 and self.generator.errors == 0 and time.perf_counter() < deadline:
            if self.window is not None:
                self.window.poll()
            time.sleep(0.01)
        # Everything alive now (torch, the model, GL, ~180k objects) lives for the show: a full collection of it
        # took 50-70 ms here, three or four display frames, whenever the collector chose. Collect once, now,
        # then freeze it out of the collector's sight; later collections walk only what the show makes.
        gc.collect()
        gc.freeze()
        self._started_at = time.perf_counter()

    def run(self, seconds: float | None = None) -> None:
        """Run the display loop on this thread for `seconds` (None: until quit or the window closes)."""
        if self._started_at is None:
            self.start()
        clock = time.perf_counter
        period = 1.0 / self.options.fps
        end = None if seconds is None else clock() + seconds
        next_at = prev = clock()
        while not self._quit and (end is None or clock() < end):
            if self.window is not None:
                self.window.poll()
                if self.window.should_close:
                    break
            now = clock()
            self._display_one(now - prev)
            prev = now
            next_at = self._pace(next_at + period, period)

    def _display_one(self, dt: float) -> None:
        start = time.perf_counter()
        frame = self.presentation.take()
        try:
            if frame is not None:
                if not self.presentation.show(frame, self.pipeline):  # interop failed: pinned copy from now on
                    frame = None
                else:
                    self.upload_ms.append((time.perf_counter() - start) * 1e3)  # interop: the copy's enqueue
            self._update_fx(dt)
            self.pipeline.render(self.surface.fbo, self._viewport(), self.fx, dt)
            if self.window is not None:
                self.window.swap()
            else:
                self.surface.ctx.finish()
        except Exception as e:  # a GL hiccup must not end the show
            self.display_errors += 1
            self.generator.last_error = f"display: {type(e).__name__}: {e}".splitlines()[0][:200]
            return
        drawn = time.perf_counter()
        if self.displayed == 0:
            self._first_drawn = drawn
        self._last_drawn = drawn
        self.displayed += 1
        self.display_ms.append((drawn - start) * 1e3)
        if frame is not None:
            self.latency_ms.append((drawn - frame.sampled_at) * 1e3)
        if drawn - self._last_hud >= HUD_PERIOD_S:
            self._last_hud = drawn
            self.pipeline.set_hud(self.hud_lines())

    def _pace(self, next_at: float, period: float) -> float:
        """Sleep until the next display deadline. A frame that ran late is counted; after a short stall the loop
        catches up (the next frames follow at once), after a long one it starts counting again from now."""
        now = time.perf_counter()
        if next_at > now:
            time.sleep(next_at - now)
            return next_at
        if now - next_at > period / 2:
            self.late_frames += 1
        return now if now - next_at > CATCH_UP_PERIODS * period else next_at

    def _update_fx(self, dt: float) -> None:
        values = self._fx_smoother.step(dt)
        for key, i in zip(DISPLAY_KEYS, self._fx_slots):
            self.fx[key] = values[i]

    def _viewport(self) -> tuple[int, int]:
        if self.window is not None:
            return self.window.framebuffer_size
        return self.options.size

    def read_pixels(self) -> np.ndarray:
        """What is on screen now, [H, W, 3] uint8, row 0 at the top.

        A window's back buffer is undefined after a swap, so the current frame is drawn once more (dt = 0, not
        swapped) and read from there; with feedback on, that is one extra feedback step."""
        if self.window is not None:
            w, h = self.window.framebuffer_size
            self.pipeline.render(self.window.fbo, (w, h), self.fx, 0.0)
            data = self.window.fbo.read(viewport=(0, 0, w, h), components=3)
            return np.frombuffer(data, np.uint8).reshape(h, w, 3)[::-1].copy()
        return self.surface.read()

    def close(self) -> None:
        for server in (self.voice, self.oscquery, self.osc, self.midi):
            if server is not None:
                server.stop()
        self.generator.stop()
        if self.generator.is_alive():
            self.generator.join(timeout=10)
        self.recorder.stop(wait=True)  # after the generator: no row arrives at a closed writer
        self.presentation.release()  # unregisters the frame texture before the pipeline frees it
        self.pipeline.release()
        if self.window is not None:
            self.window.close()
        else:
            self.surface.release()

    # Reporting (engine_report.py).
    def hud_lines(self) -> list[str]:
        return engine_report.hud_lines(self)

    def stats(self) -> dict:
        return engine_report.stats(self)
