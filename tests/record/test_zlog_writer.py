"""The realtime side of the writer: a stalled disk costs counted drops, never a wait; errors stay one line."""

from __future__ import annotations

import threading
import time

import pytest
from zlog_helpers import frame, header, values

from instrument.errors import InstrumentError
from instrument.record.writer import ZlogWriter
from instrument.record.zlog import ZlogReader


class StalledWriter(ZlogWriter):
    """A writer whose disk hangs until `release` is set."""

    def __init__(self, *args, **kw):
        self.release = threading.Event()
        super().__init__(*args, **kw)

    def _write_batch(self, batch):
        self.release.wait()
        return super()._write_batch(batch)


def test_full_ring_drops_without_waiting(tmp_path):
    writer = StalledWriter(tmp_path / "stalled.zlog", header(), ring_rows=8, max_events=4)
    worst_s = 0.0
    for i in range(100):
        t0 = time.perf_counter()
        writer.write_row(frame(i), values(i), t0)
        writer.write_event("osc", {"param": "spring.kick", "value": i}, t0)
        worst_s = max(worst_s, time.perf_counter() - t0)
    assert worst_s < 0.05  # a stalled disk never holds the caller (the budget is 0.2 ms; this only catches a wait)
    assert writer.rows_dropped == 100 - 8 and writer.events_dropped == 100 - 4
    writer.release.set()
    writer.close()
    assert writer.rows_written == 8 and writer.events_written == 4
    with ZlogReader(writer.path) as reader:
        assert reader.rows()["index"].tolist() == list(range(8))


def test_rows_after_close_are_dropped_and_counted(tmp_path):
    writer = ZlogWriter(tmp_path / "closed.zlog", header())
    writer.write_row(frame(0), values(0), 0.0)
    first = writer.close()
    assert writer.close() == first and not writer.is_alive() and writer.name == "zlog-writer"
    assert writer.write_row(frame(1), values(1), 1.0) is False and writer.rows_dropped == 1


def test_a_malformed_row_is_counted_not_raised(tmp_path):
    writer = ZlogWriter(tmp_path / "bad.zlog", header())
    assert writer.write_row(frame(0), values(0)[:3], 0.0) is False          # wrong parameter count
    assert writer.write_row(frame(1), values(1), 0.0, audio_latent=[1.0]) is False  # header has no audio
    assert writer.write_row(frame(2), values(2), 0.0)
    writer.close()
    assert (writer.rows_bad, writer.rows_written) == (2, 1)
    assert writer.last_error.startswith("z-log: frame 1 not recorded") and "\n" not in writer.last_error


def test_write_failure_is_counted_and_reported_in_one_line(tmp_path):
    writer = ZlogWriter(tmp_path / "full.zlog", header())

    def disk_full(*_):
        raise OSError(28, "No space left on device")
    writer._append = disk_full
    for i in range(5):
        writer.write_row(frame(i), values(i), 0.0)
    assert writer.flush() is False
    summary = writer.close()
    assert writer.errors == 1 and writer.rows_written == 0 and writer.rows_lost + writer.rows_dropped == 5
    assert "No space left on device" in writer.last_error and "\n" not in summary


def test_existing_file_or_missing_folder_is_a_one_line_error(tmp_path):
    (tmp_path / "old.zlog").write_bytes(b"keep me")
    with pytest.raises(InstrumentError, match="already exists"):
        ZlogWriter(tmp_path / "old.zlog", header())
    assert (tmp_path / "old.zlog").read_bytes() == b"keep me"
    with pytest.raises(InstrumentError, match="cannot create z-log .*No such file"):
        ZlogWriter(tmp_path / "nowhere" / "x.zlog", header())
