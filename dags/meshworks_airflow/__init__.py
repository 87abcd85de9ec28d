"""Airflow code the meshworks platform ships to its MWAA environments (synced with the DAGs folder).

- ``meshworks_airflow.emr``: drop-in EMR operators that run a job on EMR Serverless when its rollout ring says so.
- ``meshworks_airflow.routing``: the pure mapping behind them (no Airflow import).
"""
