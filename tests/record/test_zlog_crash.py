"""Crash safety: a writer killed with SIGKILL, and files cut at every byte of their last record."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from zlog_helpers import assert_frame_equal, frame, header, values

from instrument.record.cli import zlog_info_main
from instrument.record.writer import ZlogWriter
from instrument.record.zlog import RECORD, ZlogReader

CHILD = Path(__file__).with_name("_zlog_child.py")
ROOT = Path(__file__).parents[2]


def _acknowledged_then_kill(path: Path, at_least: int, timeout_s: float = 60.0) -> int:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    child = subprocess.Popen([sys.executable, str(CHILD), str(path)], stdout=subprocess.PIPE, env=env)
    acked, deadline, text = 0, time.monotonic() + timeout_s, b""
    try:
        while acked < at_least and time.monotonic() < deadline:
            if select.select([child.stdout], [], [], 1.0)[0]:
                chunk = os.read(child.stdout.fileno(), 4096)
                assert chunk, f"child exited early with {child.poll()}"
                text += chunk
                lines = text.split(b"\n")
                acked = max([acked] + [int(n) for n in lines[:-1] if n])
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        rest = child.communicate(timeout=10)[0]
    assert child.returncode == -signal.SIGKILL
    lines = (text + rest).split(b"\n")
    return max([acked] + [int(n) for n in lines[:-1] if n])  # acks still in the pipe count too


@pytest.mark.e2e
def test_kill_9_keeps_every_acknowledged_row(tmp_path, capsys):
    path = tmp_path / "killed.zlog"
    acked = _acknowledged_then_kill(path, at_least=400)
    with ZlogReader(path) as reader:
        n = reader.recovered
        assert n >= acked >= 400
        assert reader.rows()["index"].tolist() == list(range(n))  # complete rows, in order, no holes
        assert np.array_equal(reader.rows()["params"], np.stack([values(i) for i in range(n)]))
        for i in (0, acked - 1, n - 1):
            assert_frame_equal(reader.latent_frame(i), frame(i))
        assert len(reader.events()) >= (acked + 6) // 7
    assert zlog_info_main([str(path)]) == 0
    assert f"rows        {n} recovered" in capsys.readouterr().out


def _clean_file(tmp_path: Path, rows: int = 20) -> tuple[bytes, int]:
    path = tmp_path / "clean.zlog"
    writer = ZlogWriter(path, header())
    for i in range(rows):
        writer.write_row(frame(i), values(i), float(i))
        if i == 3:
            writer.write_event("key", {"action": "kick", "args": []}, 3.0)
    writer.close()
    data = path.read_bytes()
    last = len(data) - RECORD.size - header()["row_bytes"]
    return data, last


def test_truncated_at_every_byte_of_the_last_record(tmp_path):
    data, last = _clean_file(tmp_path)
    cut = tmp_path / "cut.zlog"
    for size in range(last, len(data) + 1):
        cut.write_bytes(data[:size])
        with ZlogReader(cut) as reader:
            want = 20 if size == len(data) else 19
            assert (reader.recovered, reader.truncated_bytes) == (want, size - last if want == 19 else 0), size
            assert len(reader.events()) == 1


def test_a_flipped_byte_ends_the_log_at_that_record(tmp_path):
    data, last = _clean_file(tmp_path)
    bad = bytearray(data)
    record = RECORD.size + header()["row_bytes"]
    bad[last - 4 * record + 40] ^= 0x01  # inside row 15's payload
    path = tmp_path / "flipped.zlog"
    path.write_bytes(bytes(bad))
    with ZlogReader(path) as reader:
        assert reader.recovered == 15 and reader.truncated_bytes == 5 * record
