"""Files that are not z-logs, or whose header is damaged, give one-line errors (and `zlog info` exits 2)."""

from __future__ import annotations

import json
import struct
import zlib

import pytest
from zlog_helpers import header

from instrument.errors import InstrumentError
from instrument.record.cli import zlog_info_main
from instrument.record.writer import ZlogWriter
from instrument.record.zlog import MAGIC, PREAMBLE, ZlogReader, encode_header


def _bad(tmp_path, data: bytes):
    path = tmp_path / "bad.zlog"
    path.write_bytes(data)
    return path


def _with_header_text(text: bytes) -> bytes:
    return PREAMBLE.pack(MAGIC, 1, 0, len(text), zlib.crc32(text)) + text


@pytest.mark.parametrize("data, message", [
    (b"", "too short to be a z-log"),
    (b"RIFF" + bytes(40), "not a z-log"),
    (PREAMBLE.pack(MAGIC, 9, 0, 2, 0) + b"{}", "format version 9, this program reads versions 1, 2"),
    (encode_header(header())[:-3], "header is corrupt"),
    (_with_header_text(b'{"z_dim": 8,'), "header is corrupt"),
    (_with_header_text(json.dumps({"z_dim": 8}).encode()), "header is corrupt"),
])
def test_bad_files_give_one_line_errors(tmp_path, capsys, data, message):
    path = _bad(tmp_path, data)
    with pytest.raises(InstrumentError, match=message) as e:
        ZlogReader(path)
    assert str(path) in str(e.value) and "\n" not in str(e.value)
    assert zlog_info_main([str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("instrument: error: z-log") and err.count("\n") == 1


def test_flipped_header_byte_is_caught_by_its_checksum(tmp_path):
    data = bytearray(encode_header(header()))
    data[PREAMBLE.size + 10] ^= 0x20
    with pytest.raises(InstrumentError, match="checksum"):
        ZlogReader(_bad(tmp_path, bytes(data)))


def test_missing_file_is_a_one_line_error(tmp_path):
    with pytest.raises(InstrumentError, match="cannot read it"):
        ZlogReader(tmp_path / "absent.zlog")


def test_header_only_file_reads_as_zero_rows(tmp_path, capsys):
    path = tmp_path / "empty.zlog"
    ZlogWriter(path, header()).close()
    with ZlogReader(path) as reader:
        assert (reader.recovered, reader.truncated_bytes, reader.events()) == (0, 0, [])
        assert reader.rows().shape == (0,)
    assert zlog_info_main([str(path)]) == 0
    assert "0 recovered, no frames" in capsys.readouterr().out


def test_info_reports_a_cut(tmp_path, capsys):
    path = tmp_path / "cut.zlog"
    ZlogWriter(path, header()).close()
    with open(path, "ab") as f:
        f.write(struct.pack("<IIB", 100, 0, 1) + b"partial")
    assert zlog_info_main([str(path)]) == 0
    assert "16 bytes after the last good record ignored" in capsys.readouterr().out
