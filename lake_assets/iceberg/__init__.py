"""Apache Iceberg as the lake's table format (LAKE_TABLE_FORMAT=iceberg): the table schema
and data-file layout (`schema.py`) and the catalog (`resources/iceberg_catalog.py`)."""
