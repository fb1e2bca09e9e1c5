"""rank_below_callback on real threads with real SCHED_FIFO priorities (in a child process: it ranks every
real-time thread of its process)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CHILD = Path(__file__).with_name("_rank_child.py")


def _can_use_fifo() -> bool:
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    except (AttributeError, PermissionError, OSError):
        return False
    os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    return True


pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or not _can_use_fifo(),
                                reason="needs Linux and permission for SCHED_FIFO (root or CAP_SYS_NICE)")


def _rank(*specs: str) -> dict:
    done = subprocess.run([sys.executable, str(CHILD), *specs], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_threads_above_a_realtime_callback_move_just_below_it():
    r = _rank("fifo:5", "fifo:20", "fifo:20", "fifo:3", "other")  # jackd2 -R's client thread, then ours
    assert r["line"] == "SCHED_FIFO 4, below the callback's 5"
    assert r["callback"] == [True, 5]  # JACK's choice is left alone
    assert r["others"] == [[True, 4], [True, 4], [True, 3], [False, 0]]  # lower ones and timeshared ones kept


def test_a_timeshared_callback_is_lifted_above_the_realtime_threads():
    r = _rank("other", "fifo:20", "fifo:7")  # a JACK server without -R, or a host API without real-time threads
    assert r["line"] == "SCHED_FIFO 20, callback raised to 21"
    assert r["callback"] == [True, 21] and r["others"] == [[True, 20], [True, 7]]


def test_a_callback_at_the_lowest_priority_is_lifted():
    r = _rank("fifo:1", "fifo:1")
    assert r["line"] == "SCHED_FIFO 1, callback raised to 2" and r["callback"] == [True, 2]


def test_nothing_to_rank_and_a_gone_thread_are_said_not_raised():
    assert _rank("fifo:5", "other")["line"] == "no real-time threads beside the callback's"
    gone = _rank("gone", "fifo:20")
    assert gone["line"].startswith("threads not ranked (the callback's thread") and gone["others"] == [[True, 20]]
