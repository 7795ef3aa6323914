"""Read by every Python process a test starts with this folder on PYTHONPATH (the prod-local
stack, `dg dev`). In the Dagster daemon only (`dagster-daemon run`, or `python -m
dagster._daemon run` as `dg dev` starts it), the backfill daemon looks for work every 2 s
instead of every 30 s, which Dagster hardcodes: the tests then wait for runs, not for the
daemon's cadence. Everything else runs as deployed."""

import os
import sys

FOLDER = os.path.dirname(os.path.abspath(__file__))  # what the tests put on PYTHONPATH
MARK = "fast_daemon: the backfill daemon looks for work every 2 s"  # and look for on stderr
argv = getattr(sys, "orig_argv", [])
if (len(argv) > 1 and os.path.basename(argv[1]) == "dagster-daemon") or argv[1:3] == [
    "-m",
    "dagster._daemon",
]:
    from dagster._daemon import controller

    # fail loudly if Dagster moves it: the tests would silently wait 30 s per step again
    assert controller.DEFAULT_DAEMON_INTERVAL_SECONDS == 30, f"Dagster changed: see {FOLDER}"
    controller.DEFAULT_DAEMON_INTERVAL_SECONDS = 2
    print(MARK, file=sys.stderr, flush=True)
