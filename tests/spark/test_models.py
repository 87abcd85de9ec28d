"""Spark configuration models: defaults, every validation error, warnings, routing document."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from meshworks.constructs.core.inputs import ModelError
from meshworks.constructs.spark import (
    DEFAULT_EMR_SERVERLESS_RELEASE,
    Architecture,
    EmrServerlessDefaults,
    Engine,
    InstanceFleetSpec,
    InstanceTypeWeight,
    JobCatalog,
    JobClass,
    ManagedScaling,
    OnDemandAllocationStrategy,
    Ring,
    ScalingUnitType,
    ServerlessMaximumCapacity,
    SparkJob,
    SparkLimits,
    SpotAllocationStrategy,
    SpotTimeoutAction,
    routing_parameter_name,
)
from meshworks.constructs.spark.models import SSM_STANDARD_VALUE_LIMIT_BYTES

#: Direct construction raises ModelError (one line); model_validate keeps pydantic's ValidationError.
MODEL_ERRORS = (ValidationError, ModelError)

def job(name: str = "daily_orders", ring: int = 1, job_class: str = "quick", **limits: object) -> SparkJob:
    return SparkJob(
        name=name,
        job_class=job_class,
        ring=ring,
        entry_point=f"s3://my-artifacts/jobs/{name}.py",
        owner="team-orders",
        limits=SparkLimits(**limits),
    )


def error_text(excinfo: pytest.ExceptionInfo[ValidationError]) -> str:
    return str(excinfo.value)


# --------------------------------------------------------------------------------------------------
# SparkLimits
# --------------------------------------------------------------------------------------------------


def test_limits_defaults_are_all_unset_and_emit_nothing() -> None:
    limits = SparkLimits()
    assert limits.model_dump() == {
        "max_executors": None,
        "executor_cores": None,
        "executor_memory": None,
        "executor_disk": None,
        "driver_cores": None,
        "driver_memory": None,
    }
    assert limits.to_spark_defaults() == {}
    assert limits.to_spark_submit_parameters() == ""
    assert limits.warnings() == []


def test_limits_render_sorted_spark_properties_for_serverless() -> None:
    limits = SparkLimits(
        max_executors=40,
        executor_cores=4,
        executor_memory="14G",
        executor_disk="100gb",
        driver_cores=2,
        driver_memory="16384M",
    )
    assert limits.executor_memory == "14g"
    assert limits.driver_memory == "16384m"
    assert limits.executor_disk == "100G"
    defaults = limits.to_spark_defaults(Engine.EMR_SERVERLESS)
    assert list(defaults) == sorted(defaults)
    assert defaults == {
        "spark.driver.cores": "2",
        "spark.driver.memory": "16384m",
        "spark.dynamicAllocation.maxExecutors": "40",
        "spark.emr-serverless.executor.disk": "100G",
        "spark.executor.cores": "4",
        "spark.executor.memory": "14g",
    }
    assert limits.to_spark_submit_parameters() == (
        "--conf spark.driver.cores=2 --conf spark.driver.memory=16384m "
        "--conf spark.dynamicAllocation.maxExecutors=40 --conf spark.emr-serverless.executor.disk=100G "
        "--conf spark.executor.cores=4 --conf spark.executor.memory=14g"
    )


def test_limits_leave_serverless_disk_out_on_emr_ec2() -> None:
    limits = SparkLimits(max_executors=10, executor_disk="50g")
    assert limits.to_spark_defaults("emr-ec2") == {"spark.dynamicAllocation.maxExecutors": "10"}
    assert "executor.disk" not in limits.to_spark_submit_parameters(Engine.EMR_EC2)


@pytest.mark.parametrize("field", ["executor_memory", "driver_memory"])
@pytest.mark.parametrize("bad", ["4 GB", "4", "0g", "4t", "-1g", "1.5g", "lots"])
def test_limits_reject_bad_memory_sizes(field: str, bad: str) -> None:
    with pytest.raises(MODEL_ERRORS) as excinfo:
        SparkLimits(**{field: bad})
    text = error_text(excinfo)
    assert field in text
    assert "'4g' or '16384m'" in text


@pytest.mark.parametrize("bad", ["19g", "201g", "0g", "20", "20m", "1tb", "twenty"])
def test_limits_reject_bad_executor_disk(bad: str) -> None:
    with pytest.raises(MODEL_ERRORS) as excinfo:
        SparkLimits(executor_disk=bad)
    text = error_text(excinfo)
    assert "executor_disk" in text
    assert "from 20 to 200" in text


@pytest.mark.parametrize("good", ["20g", "200G", "75gb", "30 GB"])
def test_limits_accept_disk_bounds_and_spellings(good: str) -> None:
    assert SparkLimits(executor_disk=good).executor_disk.endswith("G")


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("executor_cores", 0),
        ("executor_cores", 17),
        ("driver_cores", 0),
        ("driver_cores", 32),
        ("max_executors", 0),
        ("max_executors", -5),
    ],
)
def test_limits_reject_out_of_range_numbers(field: str, bad: int) -> None:
    with pytest.raises(MODEL_ERRORS) as excinfo:
        SparkLimits(**{field: bad})
    assert field in error_text(excinfo)


def test_limits_forbid_unknown_fields() -> None:
    with pytest.raises(MODEL_ERRORS) as excinfo:
        SparkLimits(max_executor=10)
    assert "max_executor" in error_text(excinfo)


def test_limits_warn_above_five_executor_cores() -> None:
    assert SparkLimits(executor_cores=5).warnings() == []
    (warning,) = SparkLimits(executor_cores=6).warnings()
    assert "executor_cores=6" in warning
    assert "Belcorp" in warning


def test_limits_serverless_errors() -> None:
    assert SparkLimits(max_executors=5, executor_cores=4).serverless_errors() == []
    problems = SparkLimits(executor_cores=3, driver_cores=6).serverless_errors()
    assert len(problems) == 3
    assert "limits.max_executors is not set" in problems[0]
    assert "limits.executor_cores=3" in problems[1]
    assert "limits.driver_cores=6" in problems[2]
    assert "1, 2, 4, 8, 16" in problems[1]


# --------------------------------------------------------------------------------------------------
# JobClass, Ring, SparkJob
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        (0, JobClass.QUICK),
        (20, JobClass.QUICK),
        (20.5, JobClass.MEDIUM),
        (60, JobClass.MEDIUM),
        (61, JobClass.LONG),
        (600, JobClass.LONG),
    ],
)
def test_job_class_from_step_minutes(minutes: float, expected: JobClass) -> None:
    assert JobClass.from_step_minutes(minutes) is expected


def test_job_class_rejects_negative_minutes() -> None:
    with pytest.raises(ValueError, match="step time"):
        JobClass.from_step_minutes(-1)


def test_ring_table_follows_godaddy() -> None:
    assert [ring.slug for ring in Ring] == [
        "canary",
        "early-adopters",
        "quick-run",
        "larger-jobs-ez",
        "larger-jobs",
        "hive",
        "redshift-ez",
        "glue-ez",
    ]
    assert [ring.value for ring in Ring] == list(range(8))


def test_job_defaults_and_ring_by_name() -> None:
    spark_job = SparkJob(name="x-1", job_class="long", ring="larger-jobs", entry_point="s3://bkt/a.py", owner=" me ")
    assert spark_job.ring is Ring.LARGER_JOBS
    assert spark_job.arguments == []
    assert spark_job.limits == SparkLimits()
    assert spark_job.owner == "me"
    assert (
        SparkJob(name="y", job_class="quick", ring="2", entry_point="s3://bkt/a.py", owner="me").ring is Ring.QUICK_RUN
    )


@pytest.mark.parametrize("bad", ["Daily", "1job", "a__b", "a-", "-a", "with space", "x" * 65, "", 7, "a/b"])
def test_job_rejects_bad_names(bad: object) -> None:
    with pytest.raises(MODEL_ERRORS) as excinfo:
        SparkJob(name=bad, job_class="quick", ring=0, entry_point="s3://bkt/a.py", owner="me")
    text = error_text(excinfo)
    assert "name" in text
    assert "lower-case letters" in text


@pytest.mark.parametrize("bad", [8, -1, 99, "ring-9", "nine", True, 2.5, None])
def test_job_rejects_unknown_rings(bad: object) -> None:
    with pytest.raises(MODEL_ERRORS) as excinfo:
        SparkJob(name="a", job_class="quick", ring=bad, entry_point="s3://bkt/a.py", owner="me")
    text = error_text(excinfo)
    assert "ring" in text
    assert "0 to 7" in text
    assert "0=canary" in text


@pytest.mark.parametrize(
    "bad",
    ["jobs/a.py", "s3://", "s3://bucket", "s3://bucket/", "https://bkt/a.py", "s3://UPPER/a.py", "s3a://bkt/a.py"],
)
def test_job_rejects_bad_entry_points(bad: str) -> None:
    with pytest.raises(MODEL_ERRORS) as excinfo:
        SparkJob(name="a", job_class="quick", ring=0, entry_point=bad, owner="me")
    text = error_text(excinfo)
    assert "entry_point" in text
    assert "s3://<bucket>/<key>" in text


@pytest.mark.parametrize("bad", ["", "   "])
def test_job_rejects_blank_owner(bad: str) -> None:
    with pytest.raises(MODEL_ERRORS) as excinfo:
        SparkJob(name="a", job_class="quick", ring=0, entry_point="s3://bkt/a.py", owner=bad)
    assert "owner" in error_text(excinfo)


def test_job_rejects_unknown_job_class_and_fields() -> None:
    with pytest.raises(MODEL_ERRORS) as excinfo:
        SparkJob(name="a", job_class="huge", ring=0, entry_point="s3://bkt/a.py", owner="me")
    assert "job_class" in error_text(excinfo)
    with pytest.raises(MODEL_ERRORS) as excinfo:
        SparkJob(name="a", job_class="quick", ring=0, entry_point="s3://bkt/a.py", owner="me", engine="emr")
    assert "engine" in error_text(excinfo)


def test_job_warns_when_ring_does_not_match_job_class() -> None:
    (warning,) = job(ring=2, job_class="long").warnings()
    assert "ring 2 (quick-run)" in warning
    assert "consider ring 3 or 4" in warning
    (warning,) = job(ring=3, job_class="quick").warnings()
    assert "consider ring 1 or 2" in warning
    assert job(ring=0, job_class="long").warnings() == []


# --------------------------------------------------------------------------------------------------
# JobCatalog
# --------------------------------------------------------------------------------------------------


def test_catalog_defaults_route_nothing_to_serverless() -> None:
    catalog = JobCatalog()
    assert catalog.rollout_ring == -1
    assert catalog.jobs == []
    assert catalog.warnings() == []
    assert catalog.routing() == {"version": 1, "rollout_ring": -1, "jobs": {}}
    # With nothing migrated, jobs need no executor cap.
    catalog = JobCatalog(jobs=[job(ring=0)])
    assert catalog.engine_for("daily_orders") is Engine.EMR_EC2


def test_catalog_routes_rings_up_to_rollout_ring_to_serverless() -> None:
    catalog = JobCatalog(
        rollout_ring=2,
        jobs=[job("a", ring=0, max_executors=5), job("b", ring=2, max_executors=5), job("c", ring=3, job_class="long")],
    )
    assert [j.name for j in catalog.jobs_on(Engine.EMR_SERVERLESS)] == ["a", "b"]
    assert [j.name for j in catalog.jobs_on(Engine.EMR_EC2)] == ["c"]
    assert catalog.engine_for(catalog.get("c")) is Engine.EMR_EC2


def test_catalog_rollback_is_lowering_rollout_ring() -> None:
    jobs = [job("a", ring=0, max_executors=5), job("b", ring=2, max_executors=5)]
    before = JobCatalog(rollout_ring=2, jobs=jobs).routing()
    after = JobCatalog(rollout_ring=0, jobs=jobs).routing()
    assert before["jobs"]["b"]["engine"] == "emr-serverless"
    assert after["jobs"]["b"]["engine"] == "emr-ec2"
    assert after["jobs"]["a"]["engine"] == "emr-serverless"


@pytest.mark.parametrize("bad", [-2, 8, 100, "all", True, None, 1.5])
def test_catalog_rejects_bad_rollout_ring(bad: object) -> None:
    with pytest.raises(MODEL_ERRORS) as excinfo:
        JobCatalog(rollout_ring=bad)
    text = error_text(excinfo)
    assert "rollout_ring" in text
    assert "-1 (no job on EMR Serverless) up to 7" in text


def test_catalog_accepts_rollout_ring_from_cli_string() -> None:
    assert JobCatalog(rollout_ring="3").rollout_ring == 3


def test_catalog_rejects_duplicate_names() -> None:
    with pytest.raises(MODEL_ERRORS) as excinfo:
        JobCatalog(jobs=[job("a"), job("b"), job("a", ring=3)])
    text = error_text(excinfo)
    assert "jobs[2].name 'a' duplicates jobs[0].name" in text
    assert "rename one of them" in text


def test_catalog_requires_max_executors_on_serverless_only() -> None:
    with pytest.raises(MODEL_ERRORS) as excinfo:
        JobCatalog(rollout_ring=1, jobs=[job("a", ring=0, max_executors=5), job("b", ring=1), job("c", ring=5)])
    text = error_text(excinfo)
    assert "jobs[1] ('b') runs on EMR Serverless (ring 1 <= rollout_ring 1)" in text
    assert "limits.max_executors is not set" in text
    assert "lower rollout_ring below 1" in text
    assert "'c'" not in text  # ring 5 stays on EMR on EC2


def test_catalog_rejects_serverless_cores_that_are_not_worker_sizes() -> None:
    with pytest.raises(MODEL_ERRORS) as excinfo:
        JobCatalog(rollout_ring=7, jobs=[job("a", ring=0, max_executors=5, executor_cores=3)])
    assert "limits.executor_cores=3 is not an EMR Serverless worker size" in error_text(excinfo)
    # The same job is fine while it runs on EMR on EC2.
    assert JobCatalog(rollout_ring=-1, jobs=[job("a", ring=0, executor_cores=3)]).jobs[0].limits.executor_cores == 3


def test_catalog_lists_every_problem_in_one_error() -> None:
    with pytest.raises(MODEL_ERRORS) as excinfo:
        JobCatalog(rollout_ring=7, jobs=[job("a", ring=0), job("a", ring=1)])
    text = error_text(excinfo)
    assert text.count("max_executors is not set") == 2
    assert "duplicates" in text
    assert excinfo.value.error_count() == 1


def test_catalog_reports_unknown_ring_with_its_location() -> None:
    with pytest.raises(MODEL_ERRORS) as excinfo:
        JobCatalog.model_validate(
            {"jobs": [{"name": "a", "job_class": "quick", "ring": 9, "entry_point": "s3://bkt/a.py", "owner": "o"}]}
        )
    (error,) = excinfo.value.errors()
    assert error["loc"] == ("jobs", 0, "ring")
    assert "0 to 7" in error["msg"]


def test_catalog_warnings_collect_job_advice_sorted_by_job() -> None:
    catalog = JobCatalog(
        rollout_ring=1,
        jobs=[
            job("zeta", ring=0, max_executors=5, executor_cores=8),
            job("alpha", ring=4, job_class="long", executor_disk="50g"),
            job("mid", ring=2, job_class="medium"),
        ],
    )
    warnings = catalog.warnings()
    assert len(warnings) == 3
    assert warnings[0].startswith("job 'alpha': limits.executor_disk only applies on EMR Serverless")
    assert warnings[1].startswith("job 'mid': ring 2 (quick-run) is meant for quick jobs")
    assert warnings[2].startswith("job 'zeta': executor_cores=8 is above 5")
    assert all(isinstance(w, str) for w in warnings)


def test_catalog_get_unknown_job() -> None:
    with pytest.raises(KeyError, match="no Spark job named 'nope'"):
        JobCatalog().get("nope")


# --------------------------------------------------------------------------------------------------
# Routing document
# --------------------------------------------------------------------------------------------------


def _catalog(order: list[int]) -> JobCatalog:
    jobs = [
        job("b_job", ring=1, max_executors=20, executor_disk="50g", executor_memory="8g"),
        job("a_job", ring=4, job_class="long", max_executors=100, executor_disk="200g"),
        job("c-job", ring=0, max_executors=2),
    ]
    return JobCatalog(rollout_ring=1, jobs=[jobs[i] for i in order])


def test_routing_document_shape() -> None:
    document = _catalog([0, 1, 2]).routing()
    assert document["version"] == 1
    assert document["rollout_ring"] == 1
    assert list(document["jobs"]) == ["a_job", "b_job", "c-job"]
    assert document["jobs"]["b_job"] == {
        "engine": "emr-serverless",
        "job_class": "quick",
        "owner": "team-orders",
        "ring": 1,
        "ring_name": "early-adopters",
        "spark_defaults": {
            "spark.dynamicAllocation.maxExecutors": "20",
            "spark.emr-serverless.executor.disk": "50G",
            "spark.executor.memory": "8g",
        },
        "spark_submit_parameters": "--conf spark.dynamicAllocation.maxExecutors=20 "
        "--conf spark.emr-serverless.executor.disk=50G --conf spark.executor.memory=8g",
    }
    a_job = document["jobs"]["a_job"]
    assert a_job["engine"] == "emr-ec2"
    assert a_job["spark_defaults"] == {"spark.dynamicAllocation.maxExecutors": "100"}
    assert json.loads(json.dumps(document)) == document


def test_routing_document_is_deterministic() -> None:
    first, second = _catalog([0, 1, 2]), _catalog([2, 0, 1])
    assert first.routing_json() == second.routing_json()
    assert first.routing_parameters("mw") == second.routing_parameters("mw")
    assert first.routing_json() == _catalog([0, 1, 2]).routing_json()
    assert " " not in first.routing_json().split('"spark_submit_parameters"')[0][:5]


def test_job_routing_and_ssm_parameters() -> None:
    catalog = _catalog([0, 1, 2])
    per_job = catalog.job_routing("b_job")
    assert per_job["job"] == "b_job"
    assert per_job["version"] == 1
    assert per_job["rollout_ring"] == 1
    assert {k: v for k, v in per_job.items() if k not in ("job", "version", "rollout_ring")} == (
        catalog.routing()["jobs"]["b_job"]
    )
    parameters = catalog.routing_parameters("/meshworks/prod/")
    assert list(parameters) == [
        "/meshworks/prod/spark/jobs/a_job/routing",
        "/meshworks/prod/spark/jobs/b_job/routing",
        "/meshworks/prod/spark/jobs/c-job/routing",
    ]
    assert json.loads(parameters["/meshworks/prod/spark/jobs/b_job/routing"]) == per_job
    assert all(len(value.encode()) <= SSM_STANDARD_VALUE_LIMIT_BYTES for value in parameters.values())


def test_routing_parameters_refuse_values_over_the_standard_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    import meshworks.constructs.spark.job_catalog as models  # where routing_parameters reads the limit

    catalog = JobCatalog(
        jobs=[SparkJob(name="big", job_class="quick", ring=0, entry_point="s3://bkt/a.py", owner="o" * 128)]
    )
    assert len(next(iter(catalog.routing_parameters("mw").values()))) < SSM_STANDARD_VALUE_LIMIT_BYTES
    # Owners are capped at 128 characters, so a real document stays far below 4 KB; lower the limit to
    # exercise the guard.
    monkeypatch.setattr(models, "SSM_STANDARD_VALUE_LIMIT_BYTES", 100)
    with pytest.raises(ValueError, match="over the 100-byte Standard SSM parameter limit"):
        catalog.routing_parameters("mw")


def test_routing_parameter_name() -> None:
    assert routing_parameter_name("meshworks", "daily_orders") == "/meshworks/spark/jobs/daily_orders/routing"
    assert routing_parameter_name("/a/b/", job()) == "/a/b/spark/jobs/daily_orders/routing"


@pytest.mark.parametrize(
    ("prefix", "name", "message"),
    [
        ("", "a", "SSM prefix"),
        ("/", "a", "SSM prefix"),
        ("a b", "a", "SSM prefix"),
        ("a//b", "a", "SSM prefix"),
        ("aws/x", "a", "reserved"),
        ("SSM", "a", "reserved"),
        ("/".join(["p"] * 12), "a", "too deep"),
        ("mw", "Bad Name", "job name"),
    ],
)
def test_routing_parameter_name_rejects_bad_input(prefix: str, name: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        routing_parameter_name(prefix, name)


# --------------------------------------------------------------------------------------------------
# ManagedScaling
# --------------------------------------------------------------------------------------------------


def test_managed_scaling_defaults() -> None:
    scaling = ManagedScaling(minimum_capacity_units=1, maximum_capacity_units=10)
    assert scaling.unit_type is ScalingUnitType.INSTANCES
    assert scaling.maximum_on_demand_capacity_units is None
    assert scaling.maximum_core_capacity_units is None
    assert scaling.task_units == 0
    assert scaling.warnings() == []
    assert scaling.to_compute_limits() == {
        "UnitType": "Instances",
        "MinimumCapacityUnits": 1,
        "MaximumCapacityUnits": 10,
    }


def test_managed_scaling_belcorp_preset() -> None:
    scaling = ManagedScaling.belcorp()
    assert (
        scaling.minimum_capacity_units,
        scaling.maximum_capacity_units,
        scaling.maximum_on_demand_capacity_units,
        scaling.maximum_core_capacity_units,
    ) == (3, 28, 6, 6)
    assert scaling.task_units == 22
    assert scaling.warnings() == []
    assert scaling.to_compute_limits() == {
        "UnitType": "Instances",
        "MinimumCapacityUnits": 3,
        "MaximumCapacityUnits": 28,
        "MaximumOnDemandCapacityUnits": 6,
        "MaximumCoreCapacityUnits": 6,
    }


@pytest.mark.parametrize(
    ("kwargs", "fragments"),
    [
        (
            {"minimum_capacity_units": 30, "maximum_capacity_units": 28},
            ["minimum_capacity_units (30)", "lower the minimum"],
        ),
        (
            {"minimum_capacity_units": 1, "maximum_capacity_units": 28, "maximum_on_demand_capacity_units": 29},
            ["maximum_on_demand_capacity_units (29)", "at most 28"],
        ),
        (
            {"minimum_capacity_units": 1, "maximum_capacity_units": 28, "maximum_core_capacity_units": 40},
            ["maximum_core_capacity_units (40)", "at most 28"],
        ),
        (
            {"minimum_capacity_units": 0, "maximum_capacity_units": 28},
            ["minimum_capacity_units", "greater than or equal to 1"],
        ),
        ({"minimum_capacity_units": 1, "maximum_capacity_units": 2, "unit_type": "Nodes"}, ["unit_type"]),
    ],
)
def test_managed_scaling_errors(kwargs: dict[str, object], fragments: list[str]) -> None:
    with pytest.raises(MODEL_ERRORS) as excinfo:
        ManagedScaling(**kwargs)
    text = error_text(excinfo)
    for fragment in fragments:
        assert fragment in text


def test_managed_scaling_reports_all_limit_errors_together() -> None:
    with pytest.raises(MODEL_ERRORS) as excinfo:
        ManagedScaling(
            minimum_capacity_units=9,
            maximum_capacity_units=8,
            maximum_on_demand_capacity_units=9,
            maximum_core_capacity_units=9,
        )
    text = error_text(excinfo)
    assert "minimum_capacity_units (9)" in text
    assert "maximum_on_demand_capacity_units (9)" in text
    assert "maximum_core_capacity_units (9)" in text


def test_managed_scaling_warns_above_one_core_per_six_task_units() -> None:
    assert (
        ManagedScaling(minimum_capacity_units=1, maximum_capacity_units=28, maximum_core_capacity_units=4).warnings()
        == []
    )
    (warning,) = ManagedScaling(
        minimum_capacity_units=1, maximum_capacity_units=30, maximum_core_capacity_units=2, unit_type="VCPU"
    ).warnings()
    assert "28 task units for 2 core units" in warning
    assert "at least 5" in warning
    fixed = ManagedScaling(minimum_capacity_units=1, maximum_capacity_units=30, maximum_core_capacity_units=5)
    assert fixed.warnings() == []


# --------------------------------------------------------------------------------------------------
# InstanceFleetSpec
# --------------------------------------------------------------------------------------------------


def test_fleet_defaults_are_graviton_on_demand() -> None:
    fleet = InstanceFleetSpec()
    assert [t.instance_type for t in fleet.instance_types][:4] == [
        "m7g.xlarge",
        "m6g.xlarge",
        "r7g.xlarge",
        "r6g.xlarge",
    ]
    assert all(t.instance_type.split(".")[0].endswith("g") for t in fleet.instance_types)
    assert {t.weighted_capacity for t in fleet.instance_types} == {1, 2}
    assert (fleet.on_demand_target, fleet.spot_target) == (1, 0)
    assert fleet.use_allocation_strategy is True
    assert fleet.spot_allocation_strategy is SpotAllocationStrategy.PRICE_CAPACITY_OPTIMIZED
    assert fleet.on_demand_allocation_strategy is OnDemandAllocationStrategy.LOWEST_PRICE
    assert fleet.spot_timeout_minutes == 10
    assert fleet.spot_timeout_action is SpotTimeoutAction.SWITCH_TO_ON_DEMAND
    assert fleet.warnings() == []
    cfn = fleet.to_cfn()
    assert cfn["LaunchSpecifications"] == {"OnDemandSpecification": {"AllocationStrategy": "lowest-price"}}
    assert cfn["TargetOnDemandCapacity"] == 1


@pytest.mark.parametrize(
    ("total", "percent", "spot", "on_demand"),
    [(10, 80, 8, 2), (28, 80, 22, 6), (1, 80, 0, 1), (5, 80, 4, 1), (7, 80, 5, 2), (10, 0, 0, 10), (10, 100, 10, 0)],
)
def test_fleet_from_spot_ratio(total: int, percent: int, spot: int, on_demand: int) -> None:
    fleet = InstanceFleetSpec.from_spot_ratio(total, spot_percent=percent)
    assert (fleet.spot_target, fleet.on_demand_target) == (spot, on_demand)
    assert fleet.total_target == total


def test_fleet_paytm_80_20_default() -> None:
    fleet = InstanceFleetSpec.from_spot_ratio(20)
    assert fleet.spot_percent == 80.0
    cfn = fleet.to_cfn()
    assert (cfn["TargetSpotCapacity"], cfn["TargetOnDemandCapacity"]) == (16, 4)
    assert cfn["LaunchSpecifications"]["SpotSpecification"] == {
        "AllocationStrategy": "price-capacity-optimized",
        "TimeoutAction": "SWITCH_TO_ON_DEMAND",
        "TimeoutDurationMinutes": 10,
    }


@pytest.mark.parametrize(("total", "percent"), [(0, 80), (-1, 80), (10, 101), (10, -1), (2.5, 80), (10, True)])
def test_fleet_from_spot_ratio_rejects_bad_input(total: object, percent: object) -> None:
    with pytest.raises(ValueError, match="total_units|spot_percent"):
        InstanceFleetSpec.from_spot_ratio(total, spot_percent=percent)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"instance_types": []}, "instance_types is empty"),
        ({"instance_types": [{"instance_type": f"m{i}.xlarge"} for i in range(31)]}, "at most 30 per fleet with"),
        (
            {"instance_types": [{"instance_type": f"m{i}.xlarge"} for i in range(6)], "use_allocation_strategy": False},
            "at most 5 per fleet without",
        ),
        (
            {
                "instance_types": [
                    {"instance_type": "m7g.xlarge"},
                    {"instance_type": "m7g.xlarge", "weighted_capacity": 2},
                ]
            },
            "m7g.xlarge more than once",
        ),
        ({"on_demand_target": 0, "spot_target": 0}, "on_demand_target + spot_target is 0"),
        ({"on_demand_target": -1}, "on_demand_target"),
        ({"instance_types": [{"instance_type": "m7g"}]}, "'<family>.<size>'"),
        ({"instance_types": [{"instance_type": "m7g.xlarge", "weighted_capacity": 0}]}, "weighted_capacity"),
        ({"spot_allocation_strategy": "cheapest"}, "spot_allocation_strategy"),
        ({"on_demand_allocation_strategy": "capacity-optimized"}, "on_demand_allocation_strategy"),
        ({"spot_timeout_minutes": 2}, "spot_timeout_minutes"),
    ],
)
def test_fleet_errors(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(MODEL_ERRORS) as excinfo:
        InstanceFleetSpec(**kwargs)
    assert fragment in error_text(excinfo)


def test_fleet_allows_thirty_types_with_strategy_and_five_without() -> None:
    thirty = [InstanceTypeWeight(instance_type=f"m{i}.xlarge") for i in range(30)]
    assert len(InstanceFleetSpec(instance_types=thirty).instance_types) == 30
    fleet = InstanceFleetSpec(instance_types=thirty[:5], use_allocation_strategy=False, spot_target=4)
    assert "AllocationStrategy" not in fleet.to_cfn()["LaunchSpecifications"]["SpotSpecification"]
    assert "OnDemandSpecification" not in fleet.to_cfn()["LaunchSpecifications"]


def test_fleet_warnings() -> None:
    (warning,) = InstanceFleetSpec(spot_target=4, spot_allocation_strategy="lowest-price").warnings()
    assert "highest interruption risk" in warning
    (warning,) = InstanceFleetSpec(spot_target=4, instance_types=[{"instance_type": "m7g.xlarge"}]).warnings()
    assert "only 1 instance type" in warning


# --------------------------------------------------------------------------------------------------
# EmrServerlessDefaults
# --------------------------------------------------------------------------------------------------


def test_serverless_defaults() -> None:
    defaults = EmrServerlessDefaults()
    assert defaults.release_label == DEFAULT_EMR_SERVERLESS_RELEASE == "emr-7.13.0"
    assert defaults.release_version == (7, 13, 0)
    assert defaults.architecture is Architecture.ARM64
    assert defaults.idle_timeout_minutes == 15
    assert defaults.maximum_capacity == ServerlessMaximumCapacity(cpu="400 vCPU", memory="3000 GB", disk="20000 GB")
    assert (
        defaults.maximum_capacity.vcpus,
        defaults.maximum_capacity.memory_gb,
        defaults.maximum_capacity.disk_gb,
    ) == (
        400,
        3000,
        20000,
    )
    assert defaults.max_concurrent_runs is None
    assert defaults.warnings() == []
    assert defaults.to_application_props() == {
        "release_label": "emr-7.13.0",
        "architecture": "ARM64",
        "auto_stop_configuration": {"enabled": True, "idle_timeout_minutes": 15},
        "maximum_capacity": {"cpu": "400 vCPU", "memory": "3000 GB", "disk": "20000 GB"},
    }


def test_serverless_capacity_spellings_are_normalised() -> None:
    capacity = ServerlessMaximumCapacity(cpu="100", memory="800gb", disk="1000 gb")
    assert capacity.to_cfn() == {"cpu": "100 vCPU", "memory": "800 GB", "disk": "1000 GB"}


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("cpu", "400 cores"),
        ("cpu", "0 vCPU"),
        ("cpu", "-4"),
        ("memory", "3 TB"),
        ("memory", "lots"),
        ("memory", "0 GB"),
        ("disk", "20000"),
        ("disk", "20 TB"),
        ("disk", ""),
    ],
)
def test_serverless_capacity_rejects_bad_formats(field: str, bad: str) -> None:
    with pytest.raises(MODEL_ERRORS) as excinfo:
        ServerlessMaximumCapacity(**{field: bad})
    text = error_text(excinfo)
    assert f"maximum_capacity.{field}" in text
    assert "use" in text


@pytest.mark.parametrize("bad", ["7.13.0", "emr-7.13", "emr-7.13.0-latest", "EMR-7.1.0", "emr-seven", 7])
def test_serverless_rejects_malformed_release_labels(bad: object) -> None:
    with pytest.raises(MODEL_ERRORS) as excinfo:
        EmrServerlessDefaults(release_label=bad)
    text = error_text(excinfo)
    assert "release_label" in text
    assert "emr-7.13.0" in text


@pytest.mark.parametrize("bad", ["emr-6.8.0", "emr-6.6.0", "emr-5.36.2", "emr-4.0.0"])
def test_serverless_rejects_releases_before_6_9(bad: str) -> None:
    with pytest.raises(MODEL_ERRORS) as excinfo:
        EmrServerlessDefaults(release_label=bad)
    text = error_text(excinfo)
    assert "older than emr-6.9.0" in text
    assert "use e.g. 'emr-7.13.0'" in text


def test_serverless_warns_on_6x_and_future_majors() -> None:
    (warning,) = EmrServerlessDefaults(release_label="emr-6.9.0").warnings()
    assert "EMR 6.x release" in warning
    (warning,) = EmrServerlessDefaults(release_label="emr-8.0.0").warnings()
    assert "newer than the EMR 7.x releases" in warning
    assert EmrServerlessDefaults(release_label="emr-7.0.0").warnings() == []


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("idle_timeout_minutes", 0),
        ("idle_timeout_minutes", 10081),
        ("max_concurrent_runs", 0),
        ("max_concurrent_runs", 1001),
        ("architecture", "ARM"),
        ("architecture", "x86"),
    ],
)
def test_serverless_rejects_out_of_range_settings(field: str, bad: object) -> None:
    with pytest.raises(MODEL_ERRORS) as excinfo:
        EmrServerlessDefaults(**{field: bad})
    assert field in error_text(excinfo)


def test_serverless_max_concurrent_runs_needs_7_3() -> None:
    with pytest.raises(MODEL_ERRORS) as excinfo:
        EmrServerlessDefaults(release_label="emr-7.2.0", max_concurrent_runs=10)
    text = error_text(excinfo)
    assert "max_concurrent_runs needs job concurrency (emr-7.3.0 or later)" in text
    props = EmrServerlessDefaults(max_concurrent_runs=10).to_application_props()
    assert props["scheduler_configuration"] == {"max_concurrent_runs": 10}


def test_serverless_warns_on_capacity_no_worker_can_use() -> None:
    (warning,) = EmrServerlessDefaults(
        maximum_capacity={"cpu": "100 vCPU", "memory": "100 GB", "disk": "2000 GB"}
    ).warnings()
    assert "1 GB of memory per vCPU" in warning
    (warning,) = EmrServerlessDefaults(
        maximum_capacity={"cpu": "10 vCPU", "memory": "900 GB", "disk": "2000 GB"}
    ).warnings()
    assert "90 GB of memory per vCPU" in warning


def test_models_round_trip_through_json() -> None:
    catalog = _catalog([0, 1, 2])
    assert JobCatalog.model_validate_json(catalog.model_dump_json()) == catalog
    defaults = EmrServerlessDefaults(max_concurrent_runs=5)
    assert EmrServerlessDefaults.model_validate(defaults.model_dump(mode="json")) == defaults
    fleet = InstanceFleetSpec.from_spot_ratio(10)
    assert InstanceFleetSpec.model_validate(fleet.model_dump(mode="json")) == fleet
