"""The z-log: every rendered frame and control event of a show, append-only and crash-safe (docs/zlog.md).

zlog.py holds the format and the reader, writer.py the realtime-safe writer thread, cli.py `instrument zlog info`.
"""
