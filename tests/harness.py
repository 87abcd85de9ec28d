"""Synthesize the reference app once and give tests its templates and its cdk-nag report."""

from __future__ import annotations

import fcntl
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aws_cdk import App
from aws_cdk.assertions import Template

from meshworks.stacks.config import PlatformConfig, load_cdk_json
from meshworks.stacks.platform import build_platform
from tests.jsii_calls import round_trips

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class NagFinding:
    """One unacknowledged cdk-nag finding."""

    rule: str
    path: str
    description: str

    def __str__(self) -> str:
        return f"{self.rule} on {self.path}: {self.description[:160]}"


@dataclass
class SynthesizedPlatform:
    """What the session synthesis produced."""

    config: PlatformConfig
    outdir: Path
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)  # artifact id (or product) -> template
    findings: list[NagFinding] = field(default_factory=list)
    synth_error: str | None = None
    deprecations: list[str] = field(default_factory=list)  # DeprecationWarnings raised while building the app
    round_trips: dict[str, int] = field(default_factory=dict)  # jsii requests of build + synth, by request type

    def template(self, artifact_id: str) -> Template:
        """An assertions ``Template`` of one stack (artifact id, e.g. ``"Foundation"``)."""
        return Template.from_json(self.templates[artifact_id])

    def resources(self, resource_type: str | None = None) -> list[tuple[str, str, dict[str, Any]]]:
        """(stack, logical id, resource) for every resource, optionally of one type."""
        return [
            (stack, logical_id, resource)
            for stack, template in self.templates.items()
            for logical_id, resource in template.get("Resources", {}).items()
            if resource_type is None or resource["Type"] == resource_type
        ]


def _read_report(outdir: Path) -> list[NagFinding]:
    report = outdir / "validation-report.json"
    if not report.exists():
        return []
    data = json.loads(report.read_text())
    return [
        NagFinding(violation["ruleName"], construct["constructPath"], violation["description"])
        for plugin in data.get("pluginReports", [])
        for violation in plugin.get("violations", [])
        for construct in violation.get("violatingConstructs", [])
    ]


def synthesize_platform(outdir: Path, context: dict[str, Any] | None = None) -> SynthesizedPlatform:
    """Build the app from ``cdk.json`` (plus ``context`` overrides) into ``outdir``, once."""
    cdk_json = json.loads((ROOT / "cdk.json").read_text())
    app_context = {**cdk_json["context"], **(context or {})}
    config = load_cdk_json(ROOT / "cdk.json")
    with round_trips() as trips:  # tests/test_synth_cost.py reads the count
        app = App(outdir=str(outdir), context=app_context, builtin_cloud_formation_validation=False)
        with warnings.catch_warnings(record=True) as caught:  # tests/test_deprecations.py reads the deprecations
            warnings.simplefilter("always", DeprecationWarning)
            build_platform(app, config, policy_checks=True)
        result = SynthesizedPlatform(config=config, outdir=outdir)
        try:
            app.synth()
        except RuntimeError as error:  # cdk-nag findings interrupt synth; the templates are written anyway
            result.synth_error = str(error).splitlines()[0]
    result.round_trips = dict(trips)
    for warning in caught:
        if issubclass(warning.category, DeprecationWarning):
            result.deprecations.append(f"{warning.filename}:{warning.lineno}: {warning.message}")
        else:  # any other warning is shown as before
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return _read_assembly(result)


def _read_assembly(result: SynthesizedPlatform) -> SynthesizedPlatform:
    outdir = result.outdir
    result.findings = _read_report(outdir)
    manifest = json.loads((outdir / "manifest.json").read_text())
    for artifact_id, artifact in manifest["artifacts"].items():
        if artifact["type"] == "aws:cloudformation:stack":
            template_file = artifact["properties"]["templateFile"]
            result.templates[artifact_id] = json.loads((outdir / template_file).read_text())
    # Service Catalog product stacks are file assets, not artifacts: audit, lint and snapshot them too.
    for product in sorted(outdir.glob("*.product.template.json")):
        result.templates[product.name.removesuffix(".template.json")] = json.loads(product.read_text())
    return result


def synthesize_platform_once(outdir: Path) -> SynthesizedPlatform:
    """:func:`synthesize_platform` shared by the processes of one test run (pytest-xdist workers).

    The first process to get the lock synthesizes into ``outdir``; the others wait for it and read the same
    assembly (templates, cdk-nag report, synth error), so the run pays for one synthesis.
    """
    done = outdir.parent / f"{outdir.name}.json"  # written once the assembly is complete
    outdir.parent.mkdir(parents=True, exist_ok=True)
    with (outdir.parent / f"{outdir.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        if done.exists():
            state = json.loads(done.read_text())
            result = SynthesizedPlatform(config=load_cdk_json(ROOT / "cdk.json"), outdir=outdir, **state)
            return _read_assembly(result)
        result = synthesize_platform(outdir)
        state = {"synth_error": result.synth_error, "deprecations": result.deprecations, "round_trips": result.round_trips}
        done.write_text(json.dumps(state))
        return result
