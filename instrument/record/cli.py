"""`instrument zlog info PATH`: what a z-log holds and whether it was cut short."""

from __future__ import annotations

import argparse
import sys

from instrument.errors import InstrumentError
from instrument.record.zlog import ZlogReader


def info_lines(reader: ZlogReader) -> list[str]:
    h, rows = reader.header, reader.rows()
    model = h["model"]
    n = reader.recovered
    frames = f"frames {int(rows['index'][0])}..{int(rows['index'][-1])}" if n else "no frames"
    truncated = (f"{reader.truncated_bytes} bytes after the last good record ignored (recording was cut short)"
                 if reader.truncated_bytes else "none (closed cleanly or cut between records)")
    return [f"z-log       {reader.path}",
            f"format      version {h['version']}, written by {h['program']['name']} {h['program']['version']} "
            f"at {h['created']}",
            f"model       {model['name']} (sha256 {model['sha256'][:16]}), z_dim {h['z_dim']}, num_ws {h['num_ws']}",
            f"seed        {h['seed']}, fps hint {h['fps_hint']:g}, {len(h['params'])} parameters, "
            f"audio_dim {h['audio_dim']}",
            f"rows        {n} recovered, {frames}, {reader.duration_s():.3f} s of conductor time",
            f"bytes/row   {h['row_bytes']} payload + 9 record header",
            f"events      {len(reader.events())}",
            f"directions  {_directions(h, rows)}",
            f"truncation  {truncated}"]


def _directions(header: dict, rows) -> str:
    """Which knob directions the log was played with, and in how many rows a knob was turned."""
    entry = header.get("directions")
    if not entry:
        return "none (the direction knobs were at zero)"
    turned = int((rows["directions"] != 0).any(axis=1).sum()) if "directions" in rows.dtype.names else 0
    return f"{entry['source']} (sha256 {entry['sha256'][:16]}), a knob turned in {turned} rows"


def zlog_info_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="instrument zlog info", description="Summarise a z-log recording.")
    parser.add_argument("path", help="a .zlog file written by `instrument play --record`")
    args = parser.parse_args(argv)
    try:
        with ZlogReader(args.path) as reader:
            print("\n".join(info_lines(reader)))
    except InstrumentError as e:
        print(f"instrument: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(zlog_info_main())
