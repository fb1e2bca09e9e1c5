"""How late the machine itself wakes a top-priority thread, beside a benchmark (not a test): cyclictest.

An audio xrun has two kinds of cause: ours (a callback that waits, a thread that outranks it) and the platform's (a
kernel section that cannot be preempted, a hypervisor that takes the VM's CPU away). cyclictest (Debian `rt-tests`,
the real-time Linux project's standard latency tool) tells them apart: one thread per CPU at SCHED_FIFO 95, above
everything of ours and of jackd's, sleeps 1 ms at a time and records how late each wake-up came. If that thread is
woken 7 ms late, no thread on the machine could have met a 5.3 ms period then, whatever its priority.

    probe = HostProbe(seconds)   # starts cyclictest for the window (or says why it could not)
    ...                          # the benchmark's window
    probe.result()               # {"host_wake_late_max_ms", "host_wakes_over_1ms", "host_wakes_over_4ms", ...}
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

PRIORITY, INTERVAL_US, HISTOGRAM_US = 95, 1000, 30000  # wake-ups later than HISTOGRAM_US count as overflows


class HostProbe:
    """cyclictest over the next `seconds` (one thread per CPU, FIFO 95, 1 ms interval, memory locked)."""

    def __init__(self, seconds: float) -> None:
        self.reason, self._proc = "", None
        if shutil.which("cyclictest") is None:
            self.reason = "cyclictest not installed (Debian: apt-get install rt-tests)"
            return
        self._hist = tempfile.NamedTemporaryFile("w+", suffix=".hist", delete=False)
        args = ["cyclictest", "-q", "-m", "-S", "-p", str(PRIORITY), "-i", str(INTERVAL_US),
                "-D", f"{max(int(seconds), 1)}", "-h", str(HISTOGRAM_US), f"--histfile={self._hist.name}"]
        self.command = " ".join(args[:-1])
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def result(self, timeout_s: float = 30.0) -> dict:
        """Wait for cyclictest to end (it runs for `seconds`); its figures, or why there are none."""
        if self._proc is None:
            return {"host_probe": self.reason}
        try:
            _, err = self._proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            return {"host_probe": f"cyclictest did not finish within {timeout_s:g} s of the window"}
        try:
            with open(self._hist.name) as f:
                text = f.read()
        finally:
            os.unlink(self._hist.name)
        if self._proc.returncode != 0 or not text.strip():
            line = (err.strip().splitlines() or ["no output"])[-1]
            return {"host_probe": f"cyclictest failed (exit {self._proc.returncode}: {line})"}
        return {"host_probe": self.command, **parse_histogram(text)}


def parse_histogram(text: str) -> dict:
    """cyclictest's --histfile (rows 'bucket_us count_cpu0 count_cpu1 ...', '# Max Latencies:' and '# Histogram
    Overflows:' lines) -> wake-up counts and lateness, all CPUs together."""
    rows, maxima, overflows = [], [], []
    for line in text.splitlines():
        if line.startswith("# Max Latencies:"):
            maxima = [int(v) for v in line.split(":", 1)[1].split()]
        elif line.startswith("# Histogram Overflows:"):
            overflows = [int(v) for v in line.split(":", 1)[1].split()]
        elif line and not line.startswith("#"):
            values = [int(v) for v in line.split()]
            rows.append((values[0], sum(values[1:])))
    over = {ms: sum(n for us, n in rows if us > ms * 1000) + sum(overflows) for ms in (1, 4)}
    return {"host_wakes": sum(n for _, n in rows) + sum(overflows),
            "host_wake_late_max_ms": round(max(maxima, default=0) / 1000, 3),
            "host_wakes_over_1ms": over[1], "host_wakes_over_4ms": over[4]}
