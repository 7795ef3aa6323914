"""The tags a step puts on its run: which host and process run it (read by
defs/automation/dead_runs.py to notice a run whose process was killed)."""

import os
import socket

HOST, PID = "lake/host", "lake/pid"


def run_process_tags() -> dict[str, str]:
    return {HOST: socket.gethostname(), PID: str(os.getpid())}
