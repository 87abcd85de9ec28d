"""Pure logic of the drop-in EMR operators: read the Spark stack's routing, map EMR on EC2 work to EMR Serverless.

Nothing here imports Airflow or talks to AWS, so every rule is testable with plain pytest.

The routing contract (version 1) is published by ``meshworks.constructs.spark.JobRollout``
(``docs/spark.md``, "The routing contract"):

* ``/<prefix>/spark/jobs/<job>/routing``: ``{"version": 1, "job", "engine": "emr-serverless" | "emr-ec2",
  "ring", "rollout_ring", "spark_defaults": {...}, "spark_submit_parameters": "--conf k=v ...", ...}``
* ``/<prefix>/spark/rollout``: ``{"version": 1, "targets": {"emr-serverless": {"application_id",
  "execution_role_arn", ...}, "emr-ec2": {...}}}``

Readers ignore unknown fields; a document whose ``version`` is newer than this reader's is refused.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ROUTING_VERSION = 1
SERVERLESS = "emr-serverless"
EC2 = "emr-ec2"
#: Prefix of the pseudo job-flow id the create operator returns when a job runs on EMR Serverless.
PSEUDO_JOB_FLOW_PREFIX = "emr-serverless:"

_JOB_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# spark-submit options that take a value (spark-submit --help, Spark 3.5).
_VALUE_OPTIONS = {
    "--class", "--conf", "-c", "--jars", "--py-files", "--files", "--archives", "--packages", "--repositories",
    "--exclude-packages", "--name", "--driver-memory", "--driver-cores", "--executor-memory", "--executor-cores",
    "--num-executors", "--driver-java-options", "--driver-library-path", "--driver-class-path",
    "--properties-file", "--master", "--deploy-mode", "--proxy-user", "--queue", "--total-executor-cores",
    "--principal", "--keytab",
}
_FLAG_OPTIONS = {"--verbose", "-v", "--supervise"}
# Options that only mean something on YARN / a cluster: dropped on EMR Serverless.
_DROPPED = {"--master", "--deploy-mode", "--queue", "--name", "--supervise", "--verbose", "-v"}
# Resource options turned into the Spark property that EMR Serverless reads.
_AS_CONF = {
    "--driver-memory": "spark.driver.memory",
    "--driver-cores": "spark.driver.cores",
    "--executor-memory": "spark.executor.memory",
    "--executor-cores": "spark.executor.cores",
    "--num-executors": "spark.executor.instances",
    "--driver-java-options": "spark.driver.extraJavaOptions",
    "--driver-library-path": "spark.driver.extraLibraryPath",
    "--driver-class-path": "spark.driver.extraClassPath",
}
# Options EMR Serverless cannot honour: the job stays on EMR on EC2 until the DAG changes.
_UNSUPPORTED = {"--properties-file", "--proxy-user", "--principal", "--keytab", "--total-executor-cores"}
# Options passed through as they are (EMR Serverless sparkSubmitParameters).
_PASSED = ("--class", "--jars", "--py-files", "--files", "--archives", "--packages", "--repositories",
           "--exclude-packages")


class RoutingError(ValueError):
    """A routing document, or a step, that cannot be used as it is. The message says what to do."""


def routing_parameter_name(prefix: str, job: str) -> str:
    """``/<prefix>/spark/jobs/<job>/routing`` (the Spark stack's per-job parameter)."""
    return f"/{prefix.strip('/')}/spark/jobs/{job}/routing"


def index_parameter_name(prefix: str) -> str:
    """``/<prefix>/spark/rollout`` (the Spark stack's index parameter)."""
    return f"/{prefix.strip('/')}/spark/rollout"


def job_name_from(dag_id: str, explicit: str | None) -> str:
    """The catalog job a DAG runs: ``explicit`` if given, else the DAG id (``-`` and ``.`` become ``_``).

    Raises RoutingError when the name cannot be a catalog job name (``[a-z][a-z0-9_]{0,63}``).
    """
    name = explicit or re.sub(r"[-.]", "_", dag_id.lower())
    if not _JOB_RE.match(name):
        raise RoutingError(
            f"job name {name!r} is not a Spark catalog job name ([a-z][a-z0-9_]{{0,63}}): "
            "pass meshworks_job='<catalog job>' to EmrCreateJobFlowOperator"
        )
    return name


@dataclass(frozen=True)
class JobRouting:
    """One job's routing document (only the fields the operators use)."""

    job: str
    engine: str
    spark_submit_parameters: str = ""
    spark_defaults: Mapping[str, str] = field(default_factory=dict)

    @property
    def serverless(self) -> bool:
        return self.engine == SERVERLESS


@dataclass(frozen=True)
class ServerlessTarget:
    """Where EMR Serverless jobs run, from the index parameter."""

    application_id: str
    execution_role_arn: str


def _document(text: str, what: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise RoutingError(f"{what} is not JSON ({error.msg}); redeploy the Spark stack") from None
    if not isinstance(document, dict):
        raise RoutingError(f"{what} is not a JSON object; redeploy the Spark stack")
    version = document.get("version")
    if not isinstance(version, int) or version > ROUTING_VERSION:
        raise RoutingError(
            f"{what} has routing version {version!r}; this operator reads version {ROUTING_VERSION}: "
            "upgrade meshworks_airflow in the DAG bucket"
        )
    return document


def parse_routing(text: str, job: str) -> JobRouting:
    """Parse a job's routing parameter value. Raises RoutingError with the fix."""
    document = _document(text, f"routing of job {job!r}")
    engine = document.get("engine")
    if engine not in (SERVERLESS, EC2):
        raise RoutingError(f"routing of job {job!r} has engine {engine!r}; expected {SERVERLESS!r} or {EC2!r}")
    defaults = document.get("spark_defaults") or {}
    return JobRouting(
        job=job,
        engine=engine,
        spark_submit_parameters=str(document.get("spark_submit_parameters") or ""),
        spark_defaults={str(k): str(v) for k, v in defaults.items()},
    )


def parse_serverless_target(text: str) -> ServerlessTarget:
    """Parse the index parameter's EMR Serverless target. Raises RoutingError when it has none."""
    document = _document(text, "the rollout index")
    target = (document.get("targets") or {}).get(SERVERLESS) or {}
    if not target.get("application_id") or not target.get("execution_role_arn"):
        raise RoutingError(
            "the rollout index names no EMR Serverless application and execution role: "
            "deploy the Spark stack with EMR Serverless enabled, or lower spark.catalog.rollout_ring"
        )
    return ServerlessTarget(target["application_id"], target["execution_role_arn"])


def _split_conf(value: str, step: str) -> tuple[str, str]:
    key, sep, conf_value = value.partition("=")
    if not sep or not key:
        raise RoutingError(f"step {step!r}: --conf {value!r} is not key=value")
    return key, conf_value


def _conf_pairs(parameters: str) -> list[tuple[str, str]]:
    words = shlex.split(parameters)
    pairs = []
    for index, word in enumerate(words):
        if word in ("--conf", "-c") and index + 1 < len(words):
            pairs.append(_split_conf(words[index + 1], "routing"))
    return pairs


def spark_submit_args(step: Mapping[str, Any]) -> list[str] | None:
    """The ``spark-submit`` arguments of an EMR step (after ``spark-submit``), or None for another kind."""
    jar_step = step.get("HadoopJarStep") or {}
    args = [str(a) for a in jar_step.get("Args") or []]
    if jar_step.get("Jar") == "command-runner.jar" and args and args[0] == "spark-submit":
        return args[1:]
    return None


def job_driver(step: Mapping[str, Any], routing: JobRouting) -> dict[str, Any]:
    """An EMR on EC2 ``spark-submit`` step as EMR Serverless ``jobDriver``.

    Mapping: the first non-option argument is ``entryPoint``, the rest ``entryPointArguments``;
    ``--class/--jars/--py-files/--files/--archives/--packages/...`` pass through; ``--driver-memory``
    and the other resource options become their ``spark.*`` property; ``--master``, ``--deploy-mode``,
    ``--queue``, ``--name``, ``--verbose``, ``--supervise`` are dropped (YARN only); the job's limits
    from the routing (``spark_submit_parameters``) are appended last, so they win over the step's own
    ``--conf`` of the same key. Raises RoutingError for a step that is not ``spark-submit`` or that
    uses an option EMR Serverless cannot honour.
    """
    name = str(step.get("Name", "step"))
    args = spark_submit_args(step)
    if args is None:
        raise RoutingError(
            f"step {name!r} is not a command-runner.jar spark-submit step, which is all EMR Serverless runs: "
            "keep this job on EMR on EC2 (give it a ring above spark.catalog.rollout_ring) or rewrite the step"
        )
    passed: list[str] = []
    confs: dict[str, str] = {}
    index = 0
    while index < len(args):
        word = args[index]
        option, eq, inline = word.partition("=") if word.startswith("--") else (word, "", "")
        if option in _FLAG_OPTIONS:
            index += 1
            continue
        if option not in _VALUE_OPTIONS:
            break  # the entry point
        if eq:
            value = inline
            index += 1
        else:
            if index + 1 >= len(args):
                raise RoutingError(f"step {name!r}: {option} has no value")
            value = args[index + 1]
            index += 2
        if option in _UNSUPPORTED:
            raise RoutingError(
                f"step {name!r}: {option} has no EMR Serverless equivalent; remove it or keep the job on EMR on EC2"
            )
        if option in _DROPPED:
            continue
        if option in ("--conf", "-c"):
            key, conf_value = _split_conf(value, name)
            confs[key] = conf_value
        elif option in _AS_CONF:
            confs[_AS_CONF[option]] = value
        else:
            passed += [option, value]
    if index >= len(args):
        raise RoutingError(f"step {name!r}: spark-submit has no application (entry point)")
    for key, value in _conf_pairs(routing.spark_submit_parameters):
        confs[key] = value  # the job's limits win
    parameters = passed + [part for key, value in confs.items() for part in ("--conf", f"{key}={value}")]
    spark_submit: dict[str, Any] = {"entryPoint": args[index]}
    if args[index + 1 :]:
        spark_submit["entryPointArguments"] = args[index + 1 :]
    if parameters:
        spark_submit["sparkSubmitParameters"] = " ".join(shlex.quote(p) for p in parameters)
    return {"sparkSubmit": spark_submit}


def _lower_keys(configuration: Mapping[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {"classification": configuration["Classification"]}
    if configuration.get("Properties"):
        result["properties"] = dict(configuration["Properties"])
    if configuration.get("Configurations"):
        result["configurations"] = [_lower_keys(c) for c in configuration["Configurations"]]
    return result


#: Classifications EMR Serverless accepts in applicationConfiguration (EMR Serverless user guide,
#: "Default application configuration"); others (yarn-site, hdfs-site...) mean nothing there.
SERVERLESS_CLASSIFICATIONS = frozenset(
    {"spark-defaults", "spark-driver-log4j2", "spark-executor-log4j2", "spark-hive-site", "spark-env",
     "hive-site", "emrfs-site"}
)


def configuration_overrides(job_flow_overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``configurationOverrides`` from a cluster's ``job_flow_overrides``: ``Configurations`` of the
    classifications EMR Serverless knows → ``applicationConfiguration``; ``LogUri`` (``s3n://`` or
    ``s3://``) → ``monitoringConfiguration.s3MonitoringConfiguration.logUri``."""
    overrides: dict[str, Any] = {}
    configurations = [
        _lower_keys(c)
        for c in job_flow_overrides.get("Configurations") or []
        if c.get("Classification") in SERVERLESS_CLASSIFICATIONS
    ]
    if configurations:
        overrides["applicationConfiguration"] = configurations
    log_uri = job_flow_overrides.get("LogUri")
    if log_uri:
        overrides["monitoringConfiguration"] = {
            "s3MonitoringConfiguration": {"logUri": re.sub(r"^s3[na]?://", "s3://", str(log_uri))}
        }
    return overrides


def client_token(*parts: object) -> str:
    """A StartJobRun ``clientToken`` (1-64 characters) from the task instance's identity.

    The same parts give the same token, so an API call retried within one task try starts one job run.
    """
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:64]


def pseudo_job_flow_id(application_id: str, job: str, task_id: str) -> str:
    """The job-flow id the create operator returns for a Serverless-routed job:
    ``emr-serverless:<application id>:<job>:<create task id>``."""
    return f"{PSEUDO_JOB_FLOW_PREFIX}{application_id}:{job}:{task_id}"


def parse_pseudo_job_flow_id(job_flow_id: str) -> tuple[str, str, str] | None:
    """(application id, job, create task id) of a pseudo job-flow id, or None for a real cluster id."""
    if not job_flow_id.startswith(PSEUDO_JOB_FLOW_PREFIX):
        return None
    application_id, job, task_id = job_flow_id[len(PSEUDO_JOB_FLOW_PREFIX) :].split(":", 2)
    return application_id, job, task_id


def job_run_request(
    *,
    step: Mapping[str, Any],
    routing: JobRouting,
    target: ServerlessTarget,
    overrides: Mapping[str, Any],
    token: str,
    tags: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The full ``StartJobRun`` request for one step."""
    request: dict[str, Any] = {
        "applicationId": target.application_id,
        "executionRoleArn": target.execution_role_arn,
        "clientToken": token,
        "name": str(step.get("Name", routing.job))[:256],
        "jobDriver": job_driver(step, routing),
        "tags": {"meshworks:job": routing.job, **(tags or {})},
    }
    if overrides:
        request["configurationOverrides"] = dict(overrides)
    return request


def steps_of(steps: Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """``EmrAddStepsOperator.steps`` as a list (it also takes a single step)."""
    return [steps] if isinstance(steps, Mapping) else list(steps)
