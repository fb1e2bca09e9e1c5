"""The latest-frame slot: the generator publishes, the display takes the newest; neither ever waits.

A triple buffer. Three frame buffers are allocated once; at any moment one may be *published* (the newest
finished frame), one *taken* (the display is uploading it), and the generator writes into the third. The
generator never picks the published or the taken buffer, and the display only ever takes the published one, so no
buffer is written while it is read. A lock guards only the few attribute stores that pick, publish and take a
buffer (microseconds), never the generation or the upload, so neither side waits for the other's work.

Newest wins: a published frame that is replaced before the display took it counts as a drop.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Frame:
    pixels: np.ndarray        # [H, W, 3] uint8, row 0 = top; a view of `tensor` (pinned on CUDA)
    tensor: torch.Tensor      # the same memory as a torch tensor, the generator's copy target
    index: int = -1           # conductor frame index
    sampled_at: float = 0.0   # perf_counter() when its latent was sampled
    generated_at: float = 0.0  # perf_counter() when its pixels were ready
    generator_ms: float = 0.0  # time the generator spent on it


class LatestFrame:
    def __init__(self, height: int, width: int, pin_memory: bool = False):
        self.frames = [self._make(height, width, pin_memory) for _ in range(3)]
        self._lock = threading.Lock()
        self._published: int | None = None  # buffer number of the newest frame
        self._taken: int | None = None      # buffer number the display holds
        self._writing = 0                    # buffer number the generator holds
        self._seq = 0                        # publications so far
        self._taken_seq = 0                  # publications the display has seen
        self.published = 0
        self.dropped = 0

    @staticmethod
    def _make(height: int, width: int, pin_memory: bool) -> Frame:
        tensor = torch.empty((height, width, 3), dtype=torch.uint8, pin_memory=pin_memory)
        return Frame(pixels=tensor.numpy(), tensor=tensor)

    # Generator side.
    def acquire(self) -> Frame:
        """A buffer that is neither published nor being read: safe to write."""
        with self._lock:
            busy = (self._published, self._taken)
            self._writing = next(i for i in range(3) if i not in busy)  # two busy of three: one is free
        return self.frames[self._writing]

    def publish(self) -> None:
        """Make the buffer returned by the last `acquire` the newest frame."""
        with self._lock:
            if self._seq > self._taken_seq:
                self.dropped += 1  # the previous frame was never taken
            self._published = self._writing
            self._seq += 1
            self.published += 1

    # Display side.
    def take(self) -> Frame | None:
        """The newest frame if it is newer than the last one taken, else None. Never blocks."""
        with self._lock:
            if self._seq == self._taken_seq:
                return None
            self._taken, self._taken_seq = self._published, self._seq
        return self.frames[self._taken]
