"""Process-level I/O helpers."""

from __future__ import annotations

import contextlib
import os


@contextlib.contextmanager
def quiet_c_stderr():
    """Silence what C libraries (ALSA, JACK, Mesa) print straight to file descriptor 2 inside the block; the
    caller reports the outcome itself, in one line. Not for the realtime threads: it swaps a process-wide fd."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
