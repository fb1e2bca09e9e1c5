"""Polling for the tests that talk to a running engine or port: the one `wait_for` they share."""

from __future__ import annotations

import time


def wait_for(condition, timeout_s: float = 5.0, poll_s: float = 0.01) -> bool:
    """True as soon as `condition()` is true, False once `timeout_s` has passed without it."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(poll_s)
    return True
