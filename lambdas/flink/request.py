"""Flink run requests: the JSON file a user drops under the request prefix, and its validation.

A request file::

    {
      "jar": "my-job.jar",                 # a jar name uploaded by flink.jar_uploader ...
      "jar_id": "<uuid>_my-job.jar",       # ... or a Flink jar id (exactly one of the two)
      "entry_class": "com.example.Main",   # optional; default: the jar manifest's main class
      "program_args": ["--date", "2026-01-01"],   # optional; a list, or one string split like a shell
      "parallelism": 4,                    # optional, 1..32768
      "savepoint_path": "s3://bucket/savepoints/savepoint-1",  # optional
      "allow_non_restored_state": false    # optional; only with savepoint_path
    }

:func:`parse_request` returns a :class:`RunRequest` or raises :class:`RequestError` listing every problem.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

ALLOWED_FIELDS = (
    "jar",
    "jar_id",
    "entry_class",
    "program_args",
    "parallelism",
    "savepoint_path",
    "allow_non_restored_state",
)
MAX_PARALLELISM = 32768

_JAR_NAME = re.compile(r"^[^/\\\s][^/\\]*\.jar$")
_JAR_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.jar$")
_JAVA_CLASS = re.compile(r"^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$")
_URI = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$")


class RequestError(ValueError):
    """The request file is invalid; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid run request: " + "; ".join(problems))


@dataclass(frozen=True)
class RunRequest:
    """A validated run request."""

    jar: str | None = None
    jar_id: str | None = None
    entry_class: str | None = None
    program_args: list[str] = field(default_factory=list)
    parallelism: int | None = None
    savepoint_path: str | None = None
    allow_non_restored_state: bool | None = None

    def run_body(self, job_id: str | None = None) -> dict[str, Any]:
        """The JSON body of ``POST /jars/{jar_id}/run`` (unset fields omitted)."""
        body: dict[str, Any] = {"programArgsList": list(self.program_args)}
        if self.entry_class:
            body["entryClass"] = self.entry_class
        if self.parallelism is not None:
            body["parallelism"] = self.parallelism
        if self.savepoint_path:
            body["savepointPath"] = self.savepoint_path
        if self.allow_non_restored_state is not None:
            body["allowNonRestoredState"] = self.allow_non_restored_state
        if job_id:
            body["jobId"] = job_id
        return body


def parse_request(document: Any) -> RunRequest:
    """Validate a decoded request file (see the module docstring)."""
    if not isinstance(document, dict):
        raise RequestError([f"the request must be a JSON object, got {type(document).__name__}"])
    problems: list[str] = []
    unknown = sorted(set(document) - set(ALLOWED_FIELDS))
    if unknown:
        problems.append(f"unknown field(s) {', '.join(unknown)}: allowed fields are {', '.join(ALLOWED_FIELDS)}")

    jar, jar_id = document.get("jar"), document.get("jar_id")
    if (jar is None) == (jar_id is None):
        problems.append("give exactly one of 'jar' (a jar file name, e.g. 'my-job.jar') or 'jar_id' (a Flink jar id)")
    if jar is not None and (not isinstance(jar, str) or not _JAR_NAME.match(jar)):
        problems.append(f"'jar' {jar!r} must be a jar file name without folders, e.g. 'my-job.jar'")
    if jar_id is not None and (not isinstance(jar_id, str) or not _JAR_ID.match(jar_id)):
        problems.append(f"'jar_id' {jar_id!r} must be a Flink jar id such as '<uuid>_my-job.jar'")

    entry_class = document.get("entry_class")
    if entry_class is not None and (not isinstance(entry_class, str) or not _JAVA_CLASS.match(entry_class)):
        problems.append(f"'entry_class' {entry_class!r} must be a fully qualified Java class, e.g. 'com.example.Main'")

    program_args: list[str] = []
    raw_args = document.get("program_args")
    if isinstance(raw_args, str):
        try:
            program_args = shlex.split(raw_args)
        except ValueError as exc:
            problems.append(f"'program_args' string cannot be split into arguments ({exc}): check its quotes")
    elif isinstance(raw_args, list) and all(isinstance(arg, str) for arg in raw_args):
        program_args = list(raw_args)
    elif raw_args is not None:
        problems.append("'program_args' must be a list of strings or one string, e.g. ['--date', '2026-01-01']")

    parallelism = document.get("parallelism")
    if parallelism is not None and (
        isinstance(parallelism, bool) or not isinstance(parallelism, int) or not 1 <= parallelism <= MAX_PARALLELISM
    ):
        problems.append(f"'parallelism' {parallelism!r} must be a whole number from 1 to {MAX_PARALLELISM}")

    savepoint_path = document.get("savepoint_path")
    if savepoint_path is not None and (not isinstance(savepoint_path, str) or not _URI.match(savepoint_path)):
        problems.append(f"'savepoint_path' {savepoint_path!r} must be a URI, e.g. 's3://bucket/savepoints/savepoint-1'")

    allow = document.get("allow_non_restored_state")
    if allow is not None and not isinstance(allow, bool):
        problems.append(f"'allow_non_restored_state' {allow!r} must be true or false")
    elif allow is not None and savepoint_path is None:
        problems.append("'allow_non_restored_state' only applies with 'savepoint_path': add one or remove it")

    if problems:
        raise RequestError(problems)
    return RunRequest(
        jar=jar,
        jar_id=jar_id,
        entry_class=entry_class,
        program_args=program_args,
        parallelism=parallelism,
        savepoint_path=savepoint_path,
        allow_non_restored_state=allow,
    )
