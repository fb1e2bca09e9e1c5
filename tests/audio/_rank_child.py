"""Child process for test_scheduling: threads at given priorities, ranked by rank_below_callback, as JSON.

    python _rank_child.py CALLBACK OTHER...   each 'fifo:N' or 'other'; prints {"line", "callback", "others"}
It runs apart from pytest because ranking touches every real-time thread of its process."""

import json
import os
import sys
import threading
import time

from instrument.audio.scheduling import rank_below_callback


def _thread(spec: str, ready: list, stop: threading.Event) -> threading.Thread:
    def run():
        if spec.startswith("fifo:"):
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(int(spec[5:])))
        ready.append(threading.get_native_id())
        stop.wait()
    t = threading.Thread(target=run, daemon=True)
    t.start()
    while not ready:  # until the thread has set its scheduling and said its id
        time.sleep(0.001)
    return t


def _priority(tid: int) -> list:
    return [os.sched_getscheduler(tid) == os.SCHED_FIFO, os.sched_getparam(tid).sched_priority]


def main(callback: str, *others: str) -> None:
    stop, tids = threading.Event(), []
    for spec in (callback, *others):
        ids: list = []
        _thread(spec, ids, stop)
        tids.append(ids[0])
    line = rank_below_callback(tids[0] if callback != "gone" else 2 ** 22 - 1)
    print(json.dumps({"line": line, "callback": _priority(tids[0]), "others": [_priority(t) for t in tids[1:]]}))
    stop.set()


if __name__ == "__main__":
    main(*sys.argv[1:])
