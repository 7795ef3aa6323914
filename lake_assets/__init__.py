"""lake-assets: Dagster assets that turn MySQL `reports` into a queryable data lake."""
