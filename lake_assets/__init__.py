"""lake-assets: Dagster assets that turn MySQL `reports` into a queryable data lake."""

import warnings

# BackfillPolicy.single_run() is how a partition range runs as one run (the contract requires
# it); Dagster still labels the parameter beta and would warn on every load and every run.
warnings.filterwarnings(
    "ignore", message=r"Parameter `backfill_policy` .* is currently in beta", module="dagster"
)
# Partitioned asset checks (per-day verdicts) are "preview" in Dagster 1.13: same reasoning.
warnings.filterwarnings(
    "ignore", message=r"Specifying a partitions_def on an AssetCheckSpec", module="dagster"
)
