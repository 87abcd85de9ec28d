"""File ingestion (GE MDC): the recorder Lambda, the file-metadata item, and the CSV -> Parquet Glue job."""
