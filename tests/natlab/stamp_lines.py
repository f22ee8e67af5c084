#!/usr/bin/env python3
"""stamp_lines.py OUT CMD...: runs CMD, writing each line of its stdout to OUT prefixed with the
milliseconds since just before CMD was started (its stderr goes to ours). Exits with CMD's code.
Bench tooling of the NAT lab: the time to a line ("joined") without polling."""
import subprocess
import sys
import time

out_path, cmd = sys.argv[1], sys.argv[2:]
t0 = time.monotonic()
child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
with open(out_path, "w", encoding="utf-8", errors="replace") as out:
    for raw in child.stdout:
        ms = (time.monotonic() - t0) * 1000
        out.write(f"{ms:.1f} {raw.decode('utf-8', 'replace')}")
        out.flush()
sys.exit(child.wait())
