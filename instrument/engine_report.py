"""The engine's report: the HUD's lines and the stats dict, read from the parts the engine runs.

Statistics are counted where they happen (generator thread, display loop, OSC, MIDI, voice, recorder); these
functions only read them, so the engine's module keeps to creating, starting and stopping its threads. Each takes
the `Engine` and is called through `Engine.hud_lines` / `Engine.stats`; nothing here imports the engine.
"""

from __future__ import annotations

import time

import torch

from instrument.latent.keyframes import sync_status
from instrument.models.conditioning import class_label
from instrument.render.generator_thread import percentile

NOTICE_S = 4.0             # how long a rejected action's message stays on the HUD


def hud_lines(engine) -> list[str]:
    s = engine.stats()
    lines = [f"{engine.model.name}  [{s['device']}, {engine.presentation.mode}]",
             f"display {s['display_fps']:.1f} fps   generator {s['generator_fps']:.1f} fps "
             f"{s['generator_ms_p50']:.1f} ms",
             f"latency {s['latency_ms_p50']:.0f} ms   drops {s['dropped_frames']}   errors {s['errors']}"]
    if engine.recorder.recording:
        lines.append(f"REC {engine.recorder.path}  {s['zlog_rows']} rows")
    if not engine.model.trained:
        lines.append("UNTRAINED MODEL: random weights, not a trained generator")
    c_dim, shown = getattr(engine.model.generator, "c_dim", 0), engine.conductor.last_frame
    if c_dim:  # a conditional model: which class class.position plays
        lines.append(f"{class_label(shown.class_position if shown else 0.0, c_dim)} of {c_dim} classes")
    if engine.generator.last_error:
        lines.append(engine.generator.last_error[:90])
    lines += [line for line in (journey_sync(engine), midi_notice(engine)) if line]
    notice = recent_notice(engine)
    if notice:
        lines.append(notice[:90])
    return lines


def journey_sync(engine) -> str:
    """Tempo sync of a playing journey (or why it runs free), from the values the conductor uses."""
    synced = engine.conductor.journey.playing and engine.store.get("journey.sync") >= 1
    return sync_status(synced, engine.store.get("journey.beats"), engine.store.get("journey.bpm"))


def midi_notice(engine) -> str:
    """MIDI learn: what is armed, then what was bound, for NOTICE_S."""
    router = engine.midi.router if engine.midi is not None else None
    if router is None or (time.perf_counter() - router.notice_at_s >= NOTICE_S and not router.armed):
        return ""
    return router.notice[:90]


def recent_notice(engine) -> str:
    """The conductor's last rejected action (a bad key, OSC or MIDI message), for NOTICE_S after it happened."""
    text = engine.conductor.last_error
    if text != engine._notice[0]:
        engine._notice = (text, time.perf_counter())
    return text if text and time.perf_counter() - engine._notice[1] < NOTICE_S else ""


def stats(engine) -> dict:
    elapsed = max(time.perf_counter() - (engine._started_at or time.perf_counter()), 1e-9)
    g = engine.generator
    return {
        "frames_displayed": engine.displayed,
        "frames_generated": g.frames,
        "display_fps": (engine.displayed - 1) / max(engine._last_drawn - engine._first_drawn, 1e-9)
                       if engine.displayed > 1 else 0.0,
        "generator_fps": g.frames / elapsed,
        "generator_ms_p50": percentile(g.generator_ms, 50),
        "generator_ms_p99": percentile(g.generator_ms, 99),
        "latency_ms_p50": percentile(engine.latency_ms, 50),
        "latency_ms_p99": percentile(engine.latency_ms, 99),
        "overhead_ms_p50": percentile(g.overhead_ms, 50),
        "display_ms_p50": percentile(engine.display_ms, 50),
        "upload_ms_p50": percentile(engine.upload_ms, 50),
        "display_late_frames": engine.late_frames,
        "dropped_frames": engine.presentation.dropped,
        "errors": g.errors + engine.display_errors,
        "last_error": g.last_error,
        "device": str(engine.device),
        "torch_threads": torch.get_num_threads(),
        "model": engine.model.name,
        "model_sha256": engine.model.sha256,
        "trained": engine.model.trained,
        "resolution": f"{engine.resolution[0]}x{engine.resolution[1]}",
        "output_size": f"{engine._viewport()[0]}x{engine._viewport()[1]}",
        "display": "window" if engine.window is not None else "offscreen",
        "presentation": engine.presentation.describe(),
        "seconds": elapsed,
        "journey_sync": journey_sync(engine),
        **control_stats(engine),
        **engine.recorder.stats(),
        **(engine.midi.stats() if engine.midi is not None else {"midi_messages": 0, "midi_errors": 0}),
        **(engine.voice.stats() if engine.voice is not None else
           {"audio_callbacks": 0, "audio_xruns": 0, "audio_underruns": 0}),
    }


def control_stats(engine) -> dict:
    if engine.osc is None:
        return {"osc_messages": 0, "osc_errors": 0, "osc_clamped": engine.store.clamped, "osc_port": None}
    query = engine.oscquery.stats() if engine.oscquery is not None else {}
    return {**engine.osc.stats(), **query, "osc_port": engine.osc.port}
