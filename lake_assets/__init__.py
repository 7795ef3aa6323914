"""lake-assets: Dagster assets that turn MySQL `reports` into a queryable data lake."""

import os
import sys
import warnings

from lake_assets.collector import skip_collection_at_exit

# Arrow's C++ code (Parquet reading and writing included) takes its allocator from the
# environment when pyarrow first loads; choosing it later from Python does not reach it.
# jemalloc (its freed pages returned after 100 ms, see definitions.py) kept a 7-day production
# range ~60 MB leaner than mimalloc or glibc, and no slower (bench/pipeline.py). An explicit
# ARROW_DEFAULT_MEMORY_POOL wins.
if "pyarrow" not in sys.modules:
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")

# BackfillPolicy.single_run() is how a partition range runs as one run (the contract requires
# it); Dagster still labels the parameter beta and would warn on every load and every run.
warnings.filterwarnings(
    "ignore", message=r"Parameter `backfill_policy` .* is currently in beta", module="dagster"
)
# Partitioned asset checks (per-day verdicts) are "preview" in Dagster 1.13: same reasoning.
warnings.filterwarnings(
    "ignore", message=r"Specifying a partitions_def on an AssetCheckSpec", module="dagster"
)

# About a second of a one-day run's process went to the garbage collections at exit (over
# the code location's ~150,000 objects), which free nothing that exiting does not.
skip_collection_at_exit()
