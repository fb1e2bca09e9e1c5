"""What crosses threads at the conductor's edges: `Action`s in, `LatentFrame`s out.

Input threads (keys, OSC, MIDI) post `Action`s into an `ActionQueue` that the conductor drains once per step; each
step hands a `LatentFrame` to the generator, voice and recorder threads. They live apart from `conductor.py`
because they are plain data and one hand-off, shared by every thread, while the conductor's stepping is not.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from instrument.latent.directions import NUM_KNOBS

QUEUE_LEN = 1024  # actions between two frames; a full queue drops its oldest


@dataclass(frozen=True)
class Action:
    """A discrete performer action (key press, OSC/MIDI trigger), e.g. Action("recall", (3,)).

    Compares by value; comparing or hashing one whose args hold an array raises, as numpy arrays do.
    """

    name: str
    args: tuple = ()

    def __post_init__(self):
        if isinstance(self.args, list):  # why: OSC/JSON layers hand over lists; anything else odd is rejected later
            object.__setattr__(self, "args", tuple(self.args))


class ActionQueue:
    """FIFO of Actions between any number of writer threads and one draining reader.

    Why a lock and a bound: input threads must never wait on the render loop (the lock covers one append) and a
    flood of messages must not grow memory, so a full queue drops its oldest action and counts it.
    Invariant: posted == drained + dropped + len(queue).
    """

    def __init__(self, maxlen: int = QUEUE_LEN):
        if maxlen < 1:
            raise ValueError(f"queue length must be at least 1, got {maxlen}")
        self._items: deque = deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self.posted = 0
        self.dropped = 0
        self.drained = 0

    def __len__(self) -> int:
        return len(self._items)

    def put(self, action) -> None:
        with self._lock:
            if len(self._items) == self._items.maxlen:
                self.dropped += 1  # the deque discards the oldest on append
            self._items.append(action)
            self.posted += 1

    def drain(self) -> list:
        """Everything queued so far, oldest first; the queue is left empty."""
        with self._lock:
            items = list(self._items)
            self._items.clear()
            self.drained += len(items)
        return items


@dataclass
class LatentFrame:
    index: int            # frame counter, 0, 1, 2...
    t: float              # conductor time (s) passed to step
    z: np.ndarray         # [3, z_dim] float32: sources A, B, C, each on the shell
    mix: np.ndarray       # [num_ws, 3] float32, rows sum to 1
    psi: float
    cutoff: int           # truncate w-layers below this index (clipped to num_ws)
    noise_mode: str       # 'const' | 'random' | 'off'
    noise_seed: int       # uint32 seed for this frame's random noise, from the run seed and index
    directions: np.ndarray = field(default_factory=lambda: np.zeros(NUM_KNOBS, np.float32))  # [8] σ, direction.*
    direction_layers: str = "all"  # w-layers the directions move: 'all' | 'coarse' | 'middle' | 'fine'
    class_position: float = 0.0  # class.position, smoothed: conditional models' class (models/conditioning.py)
    audio: np.ndarray | None = None  # [audio_dim] float32 keyframes' timbre latent (sound keyframes); None: none
    audio_weight: float = 0.0        # 0..1 how much `audio` replaces the coupled timbre (times timbre.keyframes)
