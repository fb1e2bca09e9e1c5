"""Recording while playing: start and stop z-logs from the command line, a key or OSC.

One writer at a time. Rows come from the generator thread's `on_frame` hook (exactly the latents it rendered,
plus the whole parameter vector); actions come from the conductor's `on_post` hook. Starting opens the file on
the caller's thread (a bad path is reported, the show goes on); stopping detaches the hooks at once and closes
the writer on a helper thread, because closing drains and joins.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from instrument.errors import InstrumentError
from instrument.record.writer import ZlogWriter
from instrument.record.zlog import header_for_model

DEFAULT_FOLDER = Path("recordings")


class RecordingSwitch:
    def __init__(self, model, store, conductor, generator, seed: int, fps_hint: float, log=print, directions=None):
        self.model, self.store, self.conductor, self.generator = model, store, conductor, generator
        self.directions = directions  # directions.KnobDirections the renderer plays, for the header; None: none
        self.seed, self.fps_hint, self.log = seed, fps_hint, log
        self.writer: ZlogWriter | None = None
        self.path: Path | None = None
        self.finished: list[str] = []  # one-line summaries of closed recordings

    @property
    def recording(self) -> bool:
        return self.writer is not None

    def start(self, path: str | Path | None = None) -> Path:
        """Begin a new z-log (default: recordings/<date-time>.zlog); raises InstrumentError for a bad path."""
        if self.writer is not None:
            return self.path
        path = Path(path) if path else DEFAULT_FOLDER / time.strftime("%Y%m%d-%H%M%S.zlog")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.writer = ZlogWriter(str(path), header_for_model(self.model, self.seed, self.fps_hint,
                                                             audio_dim=getattr(self.conductor, "audio_dim", 0),
                                                             directions=self.directions))  # audio: sound keyframes
        self.path = path
        writer, store = self.writer, self.store  # store.values is looked up per row: the voice moves it to shared memory
        self.generator.on_frame = lambda latent, frame: writer.write_row(latent, store.values, frame.sampled_at)
        self.conductor.on_post = lambda action: writer.write_event(
            "engine", {"action": action.name, "args": _jsonable(action.args)}, time.perf_counter(),
            frame=self.conductor.index)
        self.log(f"recording to {path}")
        return path

    def stop(self, wait: bool = False) -> None:
        """Detach now; close (drain, flush, fsync) on a helper thread, or here when `wait`."""
        writer, self.writer = self.writer, None
        if writer is None:
            return
        self.generator.on_frame = None
        self.conductor.on_post = None
        closing = threading.Thread(target=self._close, args=(writer,), name="zlog-close")
        closing.start()
        if wait:
            closing.join()

    def _close(self, writer: ZlogWriter) -> None:
        summary = writer.close()
        self.finished.append(summary)
        self.log(summary)

    def toggle(self) -> None:
        if self.recording:
            self.stop()
        else:
            try:
                self.start()
            except InstrumentError as e:
                self.log(f"not recording: {e}")

    def stats(self) -> dict:
        w = self.writer
        return {"recording": str(self.path) if w is not None else None,
                "zlog_rows": w.rows_written if w is not None else 0,
                "zlog_dropped": w.rows_dropped if w is not None else 0}


def _jsonable(args: tuple) -> list:
    """Action arguments as JSON values (a latent array becomes a list of floats)."""
    return [a.tolist() if hasattr(a, "tolist") else a for a in args]
