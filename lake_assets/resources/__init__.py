"""Resources: the MySQL source, the lake's storage, and the table catalog."""
