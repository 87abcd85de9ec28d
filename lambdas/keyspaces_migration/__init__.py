"""The Glue (PySpark) job of ``KeyspacesMigration``: copy a Cassandra table to Amazon Keyspaces (``job.py``)."""
