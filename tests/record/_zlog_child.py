"""Child for the kill -9 test: writes rows forever; after each flush prints how many rows are acknowledged."""

import sys
import time

from zlog_helpers import frame, header, values

from instrument.record.writer import ZlogWriter

writer = ZlogWriter(sys.argv[1], header())
i = 0
while True:
    for _ in range(5):
        writer.write_row(frame(i), values(i), time.perf_counter())
        if i % 7 == 0:
            writer.write_event("osc", {"param": "spring.stiffness", "value": i}, time.perf_counter(), i / 60, i)
        i += 1
    if writer.flush():
        print(i, flush=True)  # every row below i is in the OS now: it must survive this process dying
    time.sleep(0.001)
