"""The pure mapping of EMR on EC2 work to EMR Serverless (``meshworks_airflow.routing``)."""

from __future__ import annotations

import json

import pytest
from meshworks_airflow.routing import (
    JobRouting,
    RoutingError,
    client_token,
    configuration_overrides,
    job_driver,
    job_name_from,
    parse_pseudo_job_flow_id,
    parse_routing,
    parse_serverless_target,
    pseudo_job_flow_id,
)

ROUTING = JobRouting(job="daily_orders", engine="emr-serverless", spark_submit_parameters="--conf spark.executor.memory=14g")


def step(*args: str, jar: str = "command-runner.jar") -> dict:
    return {"Name": "s", "HadoopJarStep": {"Jar": jar, "Args": list(args)}}


def test_spark_submit_maps_to_job_driver_and_the_jobs_limits_win() -> None:
    driver = job_driver(
        step("spark-submit", "--deploy-mode", "cluster", "--master", "yarn", "--conf", "spark.executor.memory=8g",
             "--conf=spark.sql.shuffle.partitions=50", "--driver-memory", "4g", "--class", "com.acme.Main",
             "--jars", "s3://b/a.jar", "--verbose", "s3://b/app.jar", "--date", "2026-11-30"),
        ROUTING,
    )
    submit = driver["sparkSubmit"]
    assert submit["entryPoint"] == "s3://b/app.jar"
    assert submit["entryPointArguments"] == ["--date", "2026-11-30"]
    parameters = submit["sparkSubmitParameters"]
    assert "--deploy-mode" not in parameters and "--master" not in parameters and "--verbose" not in parameters
    assert "--class com.acme.Main" in parameters and "--jars s3://b/a.jar" in parameters
    assert "spark.driver.memory=4g" in parameters
    assert "spark.sql.shuffle.partitions=50" in parameters
    assert "spark.executor.memory=14g" in parameters and "spark.executor.memory=8g" not in parameters


def test_a_pyspark_step_without_arguments() -> None:
    assert job_driver(step("spark-submit", "s3://b/job.py"), ROUTING) == {
        "sparkSubmit": {"entryPoint": "s3://b/job.py", "sparkSubmitParameters": "--conf spark.executor.memory=14g"}
    }


@pytest.mark.parametrize(
    ("the_step", "message"),
    [
        (step("s3://b/script.sh", jar="s3://elasticmapreduce/libs/script-runner/script-runner.jar"), "not a command-runner.jar spark-submit"),
        (step("hive-script", "--run-hive-script"), "not a command-runner.jar spark-submit"),
        (step("spark-submit", "--properties-file", "/etc/x.conf", "s3://b/a.py"), "--properties-file has no EMR Serverless"),
        (step("spark-submit", "--conf", "novalue", "s3://b/a.py"), "is not key=value"),
        (step("spark-submit", "--class", "X"), "has no application"),
        (step("spark-submit", "--class"), "--class has no value"),
    ],
)
def test_steps_that_cannot_run_serverless_say_what_to_do(the_step: dict, message: str) -> None:
    with pytest.raises(RoutingError, match=message):
        job_driver(the_step, ROUTING)


def test_configuration_overrides_keep_known_classifications_and_the_log_uri() -> None:
    overrides = configuration_overrides(
        {
            "LogUri": "s3n://logs/emr/",
            "Configurations": [
                {"Classification": "spark-defaults", "Properties": {"a": "1"}},
                {"Classification": "yarn-site", "Properties": {"b": "2"}},
                {"Classification": "spark-hive-site", "Properties": {"c": "3"}},
            ],
        }
    )
    assert overrides == {
        "applicationConfiguration": [
            {"classification": "spark-defaults", "properties": {"a": "1"}},
            {"classification": "spark-hive-site", "properties": {"c": "3"}},
        ],
        "monitoringConfiguration": {"s3MonitoringConfiguration": {"logUri": "s3://logs/emr/"}},
    }
    assert configuration_overrides({}) == {}


def test_routing_documents_are_checked() -> None:
    text = json.dumps({"version": 1, "engine": "emr-ec2", "extra": "ignored"})
    assert parse_routing(text, "j").engine == "emr-ec2"
    with pytest.raises(RoutingError, match="routing version 2"):
        parse_routing(json.dumps({"version": 2, "engine": "emr-ec2"}), "j")
    with pytest.raises(RoutingError, match="not JSON"):
        parse_routing("{", "j")
    with pytest.raises(RoutingError, match="engine 'spark'"):
        parse_routing(json.dumps({"version": 1, "engine": "spark"}), "j")
    with pytest.raises(RoutingError, match="names no EMR Serverless application"):
        parse_serverless_target(json.dumps({"version": 1, "targets": {"emr-ec2": {}}}))


def test_job_names_and_pseudo_ids() -> None:
    assert job_name_from("daily-orders.v2", None) == "daily_orders_v2"
    assert job_name_from("anything", "nightly") == "nightly"
    with pytest.raises(RoutingError, match="meshworks_job="):
        job_name_from("2026_backfill", None)
    pseudo = pseudo_job_flow_id("app123", "daily_orders", "create")
    assert parse_pseudo_job_flow_id(pseudo) == ("app123", "daily_orders", "create")
    assert parse_pseudo_job_flow_id("j-ABC") is None


def test_client_tokens_are_stable_and_fit_the_api() -> None:
    token = client_token("dag", "run", "task", -1, 1, 0)
    assert token == client_token("dag", "run", "task", -1, 1, 0) and len(token) <= 64
    assert token != client_token("dag", "run", "task", -1, 2, 0)
