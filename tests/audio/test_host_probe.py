"""host_probe: cyclictest's histogram read right, and a real cyclictest run beside nothing."""

import os
import shutil

import pytest

from instrument.audio.host_probe import HostProbe, parse_histogram

HIST = """# Histogram
000000 000000\t000000
000001 000900\t000950
000002 000080\t000040
001500 000003\t000000
004999 000000\t000001
005000 000001\t000002
# Total: 000000984 000000993
# Min Latencies: 00001 00001
# Avg Latencies: 00001 00001
# Max Latencies: 05000 31234
# Histogram Overflows: 00000 00001
# Histogram Overflow at cycle number:
# Thread 0:
# Thread 1: 00412
"""


def test_histogram_counts_every_cpu_and_the_overflows():
    r = parse_histogram(HIST)
    assert r["host_wakes"] == 900 + 950 + 80 + 40 + 3 + 1 + 1 + 2 + 1
    assert r["host_wake_late_max_ms"] == 31.234  # the overflowing wake-up sets the maximum
    assert r["host_wakes_over_1ms"] == 3 + 1 + 3 + 1  # 1500 us, 4999 us, 5000 us (x3), the overflow
    assert r["host_wakes_over_4ms"] == 1 + 3 + 1


def test_without_cyclictest_the_probe_says_how_to_get_it(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert HostProbe(1).result() == {"host_probe": "cyclictest not installed (Debian: apt-get install rt-tests)"}


@pytest.mark.skipif(shutil.which("cyclictest") is None or os.geteuid() != 0,
                    reason="needs cyclictest (Debian rt-tests) and root for SCHED_FIFO 95 and mlockall")
def test_a_real_cyclictest_run_reports_its_wakeups():
    r = HostProbe(2).result()
    assert r["host_probe"].startswith("cyclictest -q -m -S -p 95 -i 1000 -D 2"), r
    cpus = os.cpu_count()
    assert 0.8 * 2000 * cpus <= r["host_wakes"] <= 2000 * cpus + 10, r  # 1 ms interval, one thread per CPU
    assert 0 < r["host_wake_late_max_ms"] < 2000 and r["host_wakes_over_4ms"] <= r["host_wakes_over_1ms"]
