"""The latest-frame slot: newest wins, drops counted, and no buffer is ever written while the display reads it."""

import threading

import numpy as np

from instrument.render.slot import LatestFrame


def test_take_returns_newest_and_counts_drops():
    slot = LatestFrame(4, 4)
    assert slot.take() is None
    for value in (1, 2, 3):
        frame = slot.acquire()
        frame.pixels[:] = value
        frame.index = value
        slot.publish()
    taken = slot.take()
    assert taken.index == 3 and (taken.pixels == 3).all()
    assert slot.dropped == 2 and slot.published == 3
    assert slot.take() is None  # nothing newer


def test_acquire_never_returns_published_or_taken_buffer():
    slot = LatestFrame(2, 2)
    slot.acquire(); slot.publish()
    held = slot.take()
    slot.acquire(); slot.publish()
    for _ in range(10):
        assert slot.acquire() is not held
        assert slot.acquire() is not slot.frames[slot._published]


def test_concurrent_writer_never_tears_a_frame_the_reader_holds():
    """The writer fills whole frames with one value; the reader checks each frame it takes stays uniform while it
    holds it. A torn frame would mix two values."""
    slot = LatestFrame(64, 64)
    stop = threading.Event()
    torn = []

    def write():
        n = 0
        while not stop.is_set():
            frame = slot.acquire()
            frame.pixels[:] = n % 251
            frame.index = n
            slot.publish()
            n += 1

    writer = threading.Thread(target=write, name="generator")
    writer.start()
    taken = 0
    last_index = -1
    try:
        while taken < 300:
            frame = slot.take()
            if frame is None:
                continue
            first = int(frame.pixels[0, 0, 0])
            for _ in range(3):  # hold it a while, as an upload would
                if not np.all(frame.pixels == first):
                    torn.append(frame.index)
            assert frame.index > last_index  # never an older frame
            last_index = frame.index
            taken += 1
    finally:
        stop.set()
        writer.join()
    assert torn == []
    assert slot.published == slot.dropped + taken or slot.published == slot.dropped + taken + 1
