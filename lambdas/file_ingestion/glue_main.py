"""Glue entry script of ``FileIngestion``'s CSV -> Parquet job (``ScriptLocation``); the ``file_ingestion`` package
arrives through ``--extra-py-files``. See ``file_ingestion.job``."""

import sys

from file_ingestion.job import main

if __name__ == "__main__":
    main(sys.argv[1:])
