"""Rank the audio process's real-time threads: the callback's thread above every other one.

The audio process raises itself to SCHED_FIFO (voice_process.FIFO_PRIORITY) before it opens the stream, so its synth
thread preempts the engine's. PortAudio's callback then runs on a thread its host API made: JACK gives its client's
process thread SCHED_FIFO at the server's priority minus 5 (jackd2 -R: server 10, client 5; `ps -eLo cls,rtprio`),
which left the synth *above* the callback. With a compiled callback, which waits for no lock, that order is all that
can keep the callback off the CPU: on two cores, a synth turn that runs long (up to 9 ms measured) holds the core the
callback needs, and JACK reports the client late ("not finished, state = Triggered"), an xrun.

Once the callback has run and said which thread it is on (AudioOutput.callback_thread_id), `rank_below_callback`
moves every other real-time thread of the process just below it; where the callback's thread is not real-time, or
is at the lowest priority, it lifts the callback's thread above them instead. Linux only (thread ids, /proc).
"""

from __future__ import annotations

import os
import time

REALTIME = tuple(getattr(os, name) for name in ("SCHED_FIFO", "SCHED_RR") if hasattr(os, name))
WAIT_S = 2.0  # how long start-up waits for the callback's first call (it comes within a period or two)


def _threads() -> list[int]:
    return [int(tid) for tid in os.listdir("/proc/self/task")]


def _scheduling(tid: int) -> tuple[int, int] | None:
    """(policy, priority) of a thread of this process, None if it has gone."""
    try:
        return os.sched_getscheduler(tid), os.sched_getparam(tid).sched_priority
    except ProcessLookupError:
        return None


def _set_fifo(tid: int, priority: int) -> None:
    try:
        os.sched_setscheduler(tid, os.SCHED_FIFO, os.sched_param(priority))
    except ProcessLookupError:  # the thread ended meanwhile
        pass


def rank_below_callback(callback_tid: int) -> str:
    """Put `callback_tid` above every other real-time thread of this process; says what the others run at."""
    try:
        own = _scheduling(callback_tid)
        if own is None:
            return f"threads not ranked (the callback's thread {callback_tid} is gone)"
        others = {t: s[1] for t in _threads() if t != callback_tid and (s := _scheduling(t)) and s[0] in REALTIME}
        if not others:
            return "no real-time threads beside the callback's"
        if own[0] in REALTIME and own[1] >= 2:
            return _lower_others(others, own[1])
        return _lift_callback(callback_tid, max(others.values()))
    except (OSError, AttributeError) as exc:  # no permission, no /proc, no sched_* (not Linux)
        return f"threads not ranked ({type(exc).__name__}: {exc})"


def _lower_others(others: dict[int, int], callback_priority: int) -> str:
    """Every thread at or above the callback's priority goes just below it; lower ones keep theirs."""
    below = callback_priority - 1
    for tid, priority in others.items():
        if priority > below:
            _set_fifo(tid, below)
    return f"SCHED_FIFO {max(min(p, below) for p in others.values())}, below the callback's {callback_priority}"


def _lift_callback(callback_tid: int, top: int) -> str:
    """The callback's thread is not real-time, or at priority 1: lift it one above the highest of the others."""
    _set_fifo(callback_tid, top + 1)
    return f"SCHED_FIFO {top}, callback raised to {top + 1}"


def wait_for_callback_thread(output, wait_s: float = WAIT_S) -> int:
    """The callback thread's id once the callback has run (polling, start-up only); 0 if it has not in `wait_s`."""
    deadline = time.monotonic() + wait_s
    while output.callback_thread_id == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    return output.callback_thread_id
