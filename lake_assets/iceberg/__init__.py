"""Apache Iceberg as the lake's table format (LAKE_TABLE_FORMAT=iceberg): the table schema
and data-file layout (`schema.py`), maintenance (`maintenance.py`) and the catalog
(`resources/iceberg_catalog.py`).

pyiceberg is imported only where an Iceberg table is touched, so that a Hive lake's runs do not
pay for it (~0.3 s and ~15 MB a process).
"""
