"""Classify a change before it deploys: what CloudFormation will add, remove, update or **replace**.

``meshworks plan --base <git ref>`` (:mod:`meshworks.stacks.cli`) synthesizes the reference app at the
base revision and at the working tree (offline, :func:`synthesize_revision`), then
:func:`compare_assemblies` compares the templates stack by stack. This module's core,
:func:`compare_templates`, works on two template dictionaries and needs neither git nor the CDK.

How a resource is classified (source: the CloudFormation resource schemas cfn-lint ships offline,
``cfnlint/data/schemas/providers/<region>.json`` -> ``resources/<hash>.json``):

- **added** / **removed**: its logical id appears in only one of the two templates. Resources whose
  ``DeletionPolicy`` is ``Retain`` are removed from the stack but kept in the account (orphaned).
- **replaced**: the type changed, or a property listed in the type's ``createOnlyProperties``
  changed (named in the report, e.g. ``LFTags``), or a create-only property refers (``Ref``,
  ``Fn::GetAtt``, ``Fn::Sub``) to a replaced resource, whose physical id changes; or the stack itself
  moved (its name, account or region changed: CloudFormation creates a new stack, the old one stays).
- **modified**: any other change to ``Properties`` (updated in place); ``Metadata`` alone is ignored.
  :data:`UPDATE_NOTES` adds what the schema does not say (e.g. EMR Serverless refuses updates while
  an application is STARTED).

A removal or replacement is **blocking** when the resource is stateful (:data:`STATEFUL_TYPES`: its
data or its name would be lost) or grants access (:data:`ACCESS_TYPES`: consumers lose access in
between), unless acknowledged (:class:`Acknowledgements`: ``--allow stack/logical-id`` or the
``plan-acknowledgements.yml`` file of the repository, each entry with a reason).
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

__all__ = [
    "ACCESS_TYPES",
    "ACKNOWLEDGEMENTS_FILE",
    "EXPORT_TYPE",
    "STATEFUL_TYPES",
    "STOP_TO_UPDATE_TYPES",
    "UPDATE_NOTES",
    "Acknowledgement",
    "Acknowledgements",
    "Assembly",
    "PlanError",
    "ResourceChange",
    "StackPlan",
    "compare_assemblies",
    "compare_templates",
    "create_only_properties",
    "read_assembly",
    "render_markdown",
    "synthesize_revision",
]

#: Resource types whose replacement or deletion loses data, or a name other systems use.
STATEFUL_TYPES: frozenset[str] = frozenset(
    {
        "AWS::S3::Bucket",
        "AWS::DynamoDB::Table",
        "AWS::DynamoDB::GlobalTable",
        "AWS::KMS::Key",
        "AWS::Logs::LogGroup",
        "AWS::Cassandra::Keyspace",
        "AWS::Cassandra::Table",
        "AWS::SecretsManager::Secret",
        "AWS::Glue::Database",
        "AWS::Glue::Table",
        "AWS::SQS::Queue",
        "AWS::Kinesis::Stream",
        "AWS::MWAA::Environment",
        "AWS::EMRServerless::Application",
    }
)
#: Resource types that grant access: while one is replaced or after it is deleted, someone loses access.
ACCESS_TYPES: frozenset[str] = frozenset(
    {
        "AWS::LakeFormation::PrincipalPermissions",
        "AWS::LakeFormation::Permissions",
        "AWS::LakeFormation::TagAssociation",
        "AWS::LakeFormation::Tag",
        "AWS::LakeFormation::Resource",
        "AWS::LakeFormation::DataLakeSettings",
        "AWS::RAM::ResourceShare",
        "AWS::SNS::TopicPolicy",
        "AWS::S3::BucketPolicy",
        "AWS::SQS::QueuePolicy",
        "AWS::Events::EventBusPolicy",
        "AWS::KMS::Alias",
    }
)
#: What the resource schemas do not say about an in-place update (type -> note shown with the change).
UPDATE_NOTES: Mapping[str, str] = {
    "AWS::EMRServerless::Application": (
        "EMR Serverless refuses this update while the application is STARTED: stop it first (docs/spark.md)"
    ),
    "AWS::MWAA::Environment": "updates restart the environment's schedulers and workers (an hour or more)",
}
#: MWAA's rule for an in-place ``AirflowVersion`` change (MWAA user guide, "Changing the Apache Airflow version"):
#: minor versions up or down; across 2.x/3.x only between 2.11.x and 3.x; otherwise a new environment.
MWAA_VERSION_REFUSED = (
    "MWAA refuses this in-place AirflowVersion change ({old} -> {new}): between Airflow 2 and 3 it only moves "
    "between 2.11.x and 3.x; deploy 2.11.0 first, or create a new environment and migrate "
    "(docs.aws.amazon.com/mwaa/latest/userguide/upgrading-environment.html)"
)


def _update_refused(resource_type: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """Why AWS refuses an in-place update the schema allows (the update fails and rolls back), or ``""``."""
    if resource_type == "AWS::MWAA::Environment":
        old, new = before.get("AirflowVersion"), after.get("AirflowVersion")
        if isinstance(old, str) and isinstance(new, str) and old.split(".")[0] != new.split(".")[0]:
            two = old if old.startswith("2.") else new
            if not two.startswith("2.11."):
                return MWAA_VERSION_REFUSED.format(old=old, new=new)
    return ""


#: Types whose in-place updates fail while the resource runs: a modification needs an acknowledgement too.
STOP_TO_UPDATE_TYPES: frozenset[str] = frozenset({"AWS::EMRServerless::Application"})
#: The pseudo-type of a stack output's export whose value changes while another stack imports it.
EXPORT_TYPE = "Output::Export"
#: Why such a change blocks (CloudFormation's rule for exports in use).
EXPORT_IN_USE_NOTE = (
    "CloudFormation refuses to change or delete an export another stack imports (\"Cannot update export ... as it "
    "is in use by ...\"): the deployment of this stack fails; remove the import first, or keep the old resource"
)
#: Types that never reach AWS as resources.
IGNORED_TYPES: frozenset[str] = frozenset({"AWS::CDK::Metadata"})
#: The repository file of acknowledged replacements and deletions.
ACKNOWLEDGEMENTS_FILE = "plan-acknowledgements.yml"
#: Region whose schemas are read (create-only properties do not differ by region).
SCHEMA_REGION = "us-east-1"

ADDED, REMOVED, MODIFIED, REPLACED = "added", "removed", "modified", "replaced"


class PlanError(Exception):
    """A plan cannot be made (bad ref, synth failure, bad acknowledgement file): the message says why."""


# --------------------------------------------------------------------------------------------------
# Resource schemas
# --------------------------------------------------------------------------------------------------


def _schemas_package() -> Any:
    try:
        import cfnlint.data.schemas.providers as providers
    except ImportError:
        raise PlanError("meshworks plan reads the resource schemas cfn-lint ships: pip install 'meshworks[plan]'") from None
    return providers


@cache
def _provider_index() -> dict[str, str]:
    providers = _schemas_package()

    path = Path(providers.__path__[0]).parent / "providers" / f"{SCHEMA_REGION}.json"
    if not path.exists():  # older cfn-lint: one folder per region
        return {}
    return json.loads(path.read_text())


@cache
def create_only_properties(resource_type: str) -> tuple[tuple[str, ...], ...]:
    """The ``createOnlyProperties`` of a type as paths below ``Properties`` (``("TableInput", "Name")``).

    Read from cfn-lint's offline copy of the CloudFormation resource schemas; ``*`` stands for every
    item of a list. An unknown type (a custom resource) has none.
    """
    providers = _schemas_package()
    digest = _provider_index().get(resource_type)
    if digest is None:
        return ()
    schema_file = Path(providers.__path__[0]).parent / "resources" / f"{digest}.json"
    schema = json.loads(schema_file.read_text())
    paths = []
    for pointer in schema.get("createOnlyProperties", []):
        parts = pointer.split("/")[1:]
        if parts and parts[0] == "properties":
            paths.append(tuple(parts[1:]))
    return tuple(paths)


def _values_at(value: Any, path: Sequence[str]) -> list[Any]:
    """Every value at ``path`` below ``value`` (``*`` expands lists); missing parts give ``None``."""
    if not path:
        return [value]
    head, rest = path[0], path[1:]
    if head == "*":
        if isinstance(value, list):
            return [found for item in value for found in _values_at(item, rest)]
        return [None]
    if isinstance(value, dict):
        return _values_at(value.get(head), rest)
    return [None]


def _references(value: Any) -> Iterator[str]:
    """Logical ids referred to by ``Ref``, ``Fn::GetAtt`` and ``Fn::Sub`` anywhere in ``value``."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                yield inner
            elif key == "Fn::GetAtt":
                target = inner[0] if isinstance(inner, list) else str(inner).split(".")[0]
                yield target
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                if isinstance(text, str):
                    for part in text.split("${")[1:]:
                        yield part.split("}")[0].split(".")[0]
                if isinstance(inner, list):
                    yield from _references(inner[1:])
            else:
                yield from _references(inner)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def _imports(value: Any) -> Iterator[str]:
    """Export names imported by ``Fn::ImportValue`` (literal names, as the CDK writes them) anywhere in ``value``."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Fn::ImportValue" and isinstance(inner, str):
                yield inner
            else:
                yield from _imports(inner)
    elif isinstance(value, list):
        for item in value:
            yield from _imports(item)


def _changed_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    return sorted(key for key in set(old) | set(new) if old.get(key) != new.get(key))


# --------------------------------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceChange:
    """One resource's change.

    Attributes:
        stack: artifact id of the stack (``MeshProducts-sales-00``).
        logical_id: logical id in the template.
        resource_type: CloudFormation type (the new one if it changed).
        action: ``added``, ``removed``, ``modified`` or ``replaced``.
        properties: the top-level properties that changed (``modified``/``replaced``).
        reasons: why it is replaced (``LFTags``, ``TableInput/Name``, ``Type``, ``SubnetId -> Subnet1 replaced``).
        path: the construct path (``aws:cdk:path`` metadata), for people.
        retained: removed/replaced but kept in the account (``DeletionPolicy``/``UpdateReplacePolicy`` Retain).
        note: what the schema does not say (:data:`UPDATE_NOTES`).
    """

    stack: str
    logical_id: str
    resource_type: str
    action: str
    properties: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    path: str = ""
    retained: bool = False
    note: str = ""
    refused: str = ""

    @property
    def address(self) -> str:
        """``stack/logical-id``: what an acknowledgement names."""
        return f"{self.stack}/{self.logical_id}"

    @property
    def risk(self) -> str:
        """``stateful``, ``access`` or ``""``."""
        if self.resource_type in STATEFUL_TYPES:
            return "stateful"
        if self.resource_type in ACCESS_TYPES:
            return "access"
        return ""

    @property
    def destructive(self) -> bool:
        """A stateful or access-granting resource is replaced or removed, a running one must be stopped, or an
        export another stack imports changes (CloudFormation refuses the update)."""
        if self.resource_type == EXPORT_TYPE or self.refused:
            return True
        if self.action == MODIFIED:
            return self.resource_type in STOP_TO_UPDATE_TYPES
        return self.action in (REMOVED, REPLACED) and bool(self.risk)


@dataclass
class StackPlan:
    """The changes of one stack (artifact id), with how the stack itself changes."""

    stack: str
    changes: list[ResourceChange] = field(default_factory=list)
    status: str = "changed"  # "added", "removed", "moved", "changed"
    detail: str = ""

    def count(self, action: str) -> int:
        """How many resources get ``action``."""
        return sum(1 for change in self.changes if change.action == action)


def _path_of(resource: Mapping[str, Any]) -> str:
    return str(resource.get("Metadata", {}).get("aws:cdk:path", ""))


def _retained(resource: Mapping[str, Any], policy: str) -> bool:
    return resource.get(policy) in ("Retain", "RetainExceptOnCreate")


def compare_templates(
    stack: str, old: Mapping[str, Any], new: Mapping[str, Any], *, changed_imports: Mapping[str, str] | None = None
) -> list[ResourceChange]:
    """Classify every resource that differs between two templates of one stack.

    ``old`` and ``new`` are CloudFormation template dictionaries (``{"Resources": {...}}``). Returns
    the changes sorted by action and logical id; unchanged resources are left out.
    ``changed_imports``: export name -> why its value changes (another stack's resource is replaced); a
    resource importing one (``Fn::ImportValue``) in a create-only property is replaced, elsewhere updated,
    although its own template text is unchanged. Default: none.
    """
    changed_imports = dict(changed_imports or {})
    old_resources = {k: v for k, v in old.get("Resources", {}).items() if v.get("Type") not in IGNORED_TYPES}
    new_resources = {k: v for k, v in new.get("Resources", {}).items() if v.get("Type") not in IGNORED_TYPES}
    changes: dict[str, ResourceChange] = {}
    for logical_id in sorted(set(old_resources) - set(new_resources)):
        resource = old_resources[logical_id]
        changes[logical_id] = ResourceChange(
            stack, logical_id, resource["Type"], REMOVED, path=_path_of(resource),
            retained=_retained(resource, "DeletionPolicy"),
        )  # fmt: skip
    for logical_id in sorted(set(new_resources) - set(old_resources)):
        resource = new_resources[logical_id]
        changes[logical_id] = ResourceChange(stack, logical_id, resource["Type"], ADDED, path=_path_of(resource))

    common = sorted(set(old_resources) & set(new_resources))
    replaced: dict[str, tuple[str, ...]] = {}
    for logical_id in common:  # direct replacements: type or a create-only property changed
        before, after = old_resources[logical_id], new_resources[logical_id]
        if before["Type"] != after["Type"]:
            replaced[logical_id] = (f"Type {before['Type']} -> {after['Type']}",)
            continue
        reasons = tuple(
            "/".join(path)
            for path in create_only_properties(after["Type"])
            if _values_at(before.get("Properties", {}), path) != _values_at(after.get("Properties", {}), path)
        ) + tuple(
            f"{'/'.join(path)} (imports {name}: {changed_imports[name]})"
            for path in create_only_properties(after["Type"])
            for name in sorted(set(_imports(_values_at(after.get("Properties", {}), path))))
            if name in changed_imports
        )
        if reasons:
            replaced[logical_id] = tuple(dict.fromkeys(reasons))
    while True:  # a create-only property referring to a replaced resource changes with its physical id
        grew = False
        for logical_id in common:
            if logical_id in replaced:
                continue
            after = new_resources[logical_id]
            reasons = tuple(
                f"{'/'.join(path)} (refers to replaced {target})"
                for path in create_only_properties(after["Type"])
                for target in sorted(set(_references(_values_at(after.get("Properties", {}), path))))
                if target in replaced
            )
            if reasons:
                replaced[logical_id] = reasons
                grew = True
        if not grew:
            break
    for logical_id in common:
        before, after = old_resources[logical_id], new_resources[logical_id]
        properties = tuple(_changed_keys(before.get("Properties", {}), after.get("Properties", {})))
        refers = [f"(refers to replaced {target})" for target in sorted(set(_references(after.get("Properties", {}))) & set(replaced))]
        refers += [f"(imports changed {name})" for name in sorted(set(_imports(after.get("Properties", {}))) & set(changed_imports))]
        if logical_id in replaced:
            changes[logical_id] = ResourceChange(
                stack, logical_id, after["Type"], REPLACED, properties, replaced[logical_id], _path_of(after),
                retained=_retained(after, "UpdateReplacePolicy"),
            )  # fmt: skip
        elif properties or refers or before.get("DeletionPolicy") != after.get("DeletionPolicy"):
            changes[logical_id] = ResourceChange(
                stack, logical_id, after["Type"], MODIFIED,
                properties or tuple(refers),
                path=_path_of(after), note=UPDATE_NOTES.get(after["Type"], ""),
                refused=_update_refused(after["Type"], before.get("Properties", {}), after.get("Properties", {})),
            )  # fmt: skip
    order = {REPLACED: 0, REMOVED: 1, MODIFIED: 2, ADDED: 3}
    return sorted(changes.values(), key=lambda c: (order[c.action], c.logical_id))


@dataclass
class Assembly:
    """The stacks of one synthesized app: artifact id -> (stack name, account/region, template)."""

    templates: dict[str, dict[str, Any]] = field(default_factory=dict)
    identities: dict[str, str] = field(default_factory=dict)  # artifact id -> "name @ account/region"


def read_assembly(outdir: Path) -> Assembly:
    """Read a cloud assembly (``cdk.out``): every CloudFormation stack artifact and its template."""
    manifest_file = outdir / "manifest.json"
    if not manifest_file.exists():
        raise PlanError(f"{outdir} is not a cloud assembly (no manifest.json)")
    manifest = json.loads(manifest_file.read_text())
    assembly = Assembly()
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        properties = artifact.get("properties", {})
        assembly.templates[artifact_id] = json.loads((outdir / properties["templateFile"]).read_text())
        environment = artifact.get("environment", "").removeprefix("aws://")
        assembly.identities[artifact_id] = f"{properties.get('stackName', artifact_id)} @ {environment}"
    return assembly


def _exports(template: Mapping[str, Any]) -> dict[str, Any]:
    """Export name -> the output's ``Value``."""
    return {
        output["Export"]["Name"]: output.get("Value")
        for output in template.get("Outputs", {}).values()
        if isinstance(output.get("Export", {}).get("Name"), str)
    }


def _changed_exports(
    base: Assembly, head: Assembly, changes: Mapping[str, list[ResourceChange]]
) -> dict[str, tuple[str, str]]:
    """Export name -> (exporting stack, why its value changes): a different value, or it refers to a replaced resource."""
    found: dict[str, tuple[str, str]] = {}
    for stack, new in head.templates.items():
        old = base.templates.get(stack)
        if old is None or base.identities.get(stack) != head.identities.get(stack):
            continue
        replaced = {c.logical_id for c in changes.get(stack, []) if c.action == REPLACED}
        before = _exports(old)
        for name, value in _exports(new).items():
            targets = sorted(set(_references(value)) & replaced)
            if targets:
                found[name] = (stack, f"{stack}/{targets[0]} replaced")
            elif name in before and before[name] != value:
                found[name] = (stack, f"its value in {stack} changes")
    return found


def compare_assemblies(base: Assembly, head: Assembly) -> list[StackPlan]:
    """Compare two apps stack by stack (by artifact id); stacks without changes are left out.

    Cross-stack references are followed: when an exported value changes (its resource is replaced), every
    stack importing it is classified with that change (a create-only property importing it replaces the
    importer), and the export itself is reported on the exporting stack as a blocking change while another
    stack imports it (CloudFormation refuses to update an export in use).
    """
    stacks = sorted(set(base.templates) | set(head.templates))
    changed: dict[str, tuple[str, str]] = {}
    changes: dict[str, list[ResourceChange]] = {}
    for _ in range(len(stacks) + 1):  # imports chain through stacks; a fixed point is reached quickly
        imports = {name: why for name, (_, why) in changed.items()}
        for stack in stacks:
            old, new = base.templates.get(stack), head.templates.get(stack)
            if old is not None and new is not None and base.identities.get(stack) == head.identities.get(stack):
                changes[stack] = compare_templates(stack, old, new, changed_imports=imports)
        again = _changed_exports(base, head, changes)
        if again == changed:
            break
        changed = again
    importers: dict[str, list[str]] = {}
    for stack, template in head.templates.items():
        for name in set(_imports(template.get("Resources", {}))) | set(_imports(template.get("Outputs", {}))):
            importers.setdefault(name, []).append(stack)

    plans = []
    for stack in stacks:
        old, new = base.templates.get(stack), head.templates.get(stack)
        if old is None:
            plan = StackPlan(stack, compare_templates(stack, {}, new or {}), "added", head.identities.get(stack, ""))
        elif new is None:
            plan = StackPlan(stack, compare_templates(stack, old, {}), "removed", base.identities.get(stack, ""))
            plan.detail = f"{plan.detail}: `cdk deploy` leaves a removed stack deployed; deleting it deletes these"
        elif base.identities.get(stack) != head.identities.get(stack):
            # A new stack name or environment is a new CloudFormation stack: everything is created anew.
            reason = f"stack {base.identities.get(stack)} -> {head.identities.get(stack)}"
            moved = [
                ResourceChange(stack, logical_id, resource["Type"], REPLACED, (), (reason,), _path_of(resource))
                for logical_id, resource in sorted(new.get("Resources", {}).items())
                if resource.get("Type") not in IGNORED_TYPES
            ]
            plan = StackPlan(stack, moved, "moved", reason)
        else:
            exports = [
                ResourceChange(
                    stack, f"Export:{name}", EXPORT_TYPE, MODIFIED, ("Value",),
                    (f"{why}; imported by {', '.join(sorted(importers[name]))}",), note=EXPORT_IN_USE_NOTE,
                )
                for name, (owner, why) in sorted(changed.items())
                if owner == stack and [s for s in importers.get(name, []) if s != stack]
            ]  # fmt: skip
            plan = StackPlan(stack, changes[stack] + exports)
        if plan.changes or plan.status != "changed":
            plans.append(plan)
    return plans


# --------------------------------------------------------------------------------------------------
# Acknowledgements
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Acknowledgement:
    """A replacement or deletion made on purpose: ``resource`` is ``stack/logical-id`` (``fnmatch`` patterns)."""

    resource: str
    reason: str

    def matches(self, change: ResourceChange) -> bool:
        """True if this acknowledgement covers ``change``."""
        return fnmatch.fnmatchcase(change.address, self.resource)


@dataclass
class Acknowledgements:
    """Acknowledged replacements and deletions (from ``--allow`` and the acknowledgements file)."""

    entries: list[Acknowledgement] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> Acknowledgements:
        """Read ``path``: a YAML list of ``{resource: stack/logical-id, reason: text}``; missing file: none.

        Raises:
            PlanError: the file is not such a list, or an entry lacks its resource or reason.
        """
        import yaml

        if not path.exists():
            return cls()
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        except yaml.YAMLError as exc:
            raise PlanError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(data, list):
            raise PlanError(f"{path}: expected a list of {{resource: <stack>/<logical id>, reason: <why>}}")
        entries = []
        for index, item in enumerate(data):
            resource = item.get("resource") if isinstance(item, dict) else None
            reason = item.get("reason") if isinstance(item, dict) else None
            if not isinstance(resource, str) or "/" not in resource or not isinstance(reason, str) or not reason.strip():
                raise PlanError(
                    f"{path}: entry {index + 1}: needs 'resource: <stack>/<logical id>' and a non-empty 'reason'"
                )
            entries.append(Acknowledgement(resource, reason.strip()))
        return cls(entries)

    def add(self, resources: Iterable[str], reason: str = "--allow") -> None:
        """Acknowledge ``stack/logical-id`` patterns given on the command line."""
        for resource in resources:
            if "/" not in resource:
                raise PlanError(f"--allow {resource!r}: expected <stack>/<logical id> (patterns allowed)")
            self.entries.append(Acknowledgement(resource, reason))

    def find(self, change: ResourceChange) -> Acknowledgement | None:
        """The acknowledgement that covers ``change``, if any."""
        return next((entry for entry in self.entries if entry.matches(change)), None)


def blocking(plans: Iterable[StackPlan], acknowledgements: Acknowledgements) -> list[ResourceChange]:
    """Destructive changes nobody acknowledged."""
    return [
        change
        for plan in plans
        for change in plan.changes
        if change.destructive and acknowledgements.find(change) is None
    ]


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _headline(plans: Sequence[StackPlan]) -> str:
    totals = {action: sum(plan.count(action) for plan in plans) for action in (ADDED, REMOVED, MODIFIED, REPLACED)}
    if not any(totals.values()):
        return "No resource changes."
    parts = [f"{verb} {_plural(totals[action], 'resource')}" for action, verb in (
        (ADDED, "adds"), (MODIFIED, "modifies"), (REMOVED, "removes"), (REPLACED, "replaces"),
    ) if totals[action]]  # fmt: skip
    text = "This change " + ", ".join(parts)
    if not totals[REPLACED] and not totals[REMOVED]:
        # A change AWS refuses (an export in use, an update it cannot make) or one that stops a running
        # resource blocks as a replacement does: the headline must not read as all clear next to it.
        stopping = sum(change.destructive for plan in plans for change in plan.changes)
        text += (
            f"; nothing is replaced or removed, but {_plural(stopping, 'change')} would be refused by AWS or stop a "
            "running resource (see the blocking changes below)"
            if stopping
            else "; nothing is replaced or removed"
        )
    return text + "."


def _why(change: ResourceChange, acknowledgements: Acknowledgements) -> str:
    bits = []
    if change.action == REPLACED:
        bits.append("create-only " + ", ".join(f"`{reason}`" for reason in change.reasons))
    elif change.action == MODIFIED and change.properties:
        bits.append("updates " + ", ".join(f"`{name}`" for name in change.properties))
    if change.retained:
        bits.append("old one retained (orphaned)")
    if change.note:
        bits.append(change.note)
    if change.refused:
        bits.append(change.refused)
    if change.destructive:
        acknowledged = acknowledgements.find(change)
        bits.append(
            f"acknowledged: {acknowledged.reason}"
            if acknowledged
            else f"**blocking** ({_blocking_kind(change)})"
        )
    return "; ".join(bits)


def _blocking_kind(change: ResourceChange) -> str:
    if change.resource_type == EXPORT_TYPE:
        return "export in use"
    if change.refused:
        return "refused by AWS"
    return "must be stopped" if change.action == MODIFIED else change.risk + " resource"


def render_markdown(
    plans: Sequence[StackPlan], acknowledgements: Acknowledgements | None = None, *, title: str = "meshworks plan"
) -> str:
    """The plan as GitHub-flavoured Markdown (for ``$GITHUB_STEP_SUMMARY`` and the terminal)."""
    acknowledgements = acknowledgements or Acknowledgements()
    lines = [f"## {title}", "", _headline(plans), ""]
    blocked = blocking(plans, acknowledgements)
    if blocked:
        lines += [
            f"**{_plural(len(blocked), 'blocking change')}**: a stateful or access-granting resource is replaced or "
            "removed, a resource that refuses updates while it runs is updated, an export another stack imports "
            "changes, or AWS refuses the update. If that is intended, add each to "
            f"`{ACKNOWLEDGEMENTS_FILE}` (resource: `<stack>/<logical id>`, "
            "reason) or pass `--allow <stack>/<logical id>`.",
            "",
        ]
    if not plans:
        return "\n".join(lines)
    lines += ["| stack | added | modified | removed | replaced |", "|---|---:|---:|---:|---:|"]
    for plan in plans:
        label = plan.stack if plan.status == "changed" else f"{plan.stack} ({plan.status})"
        counts = " | ".join(str(plan.count(action)) for action in (ADDED, MODIFIED, REMOVED, REPLACED))
        lines.append(f"| {label} | {counts} |")
    for plan in plans:
        lines += ["", f"### {plan.stack}" + (f" — {plan.status}: {plan.detail}" if plan.status != "changed" else "")]
        lines += ["", "| change | logical id | type | construct | why |", "|---|---|---|---|---|"]
        for change in plan.changes:
            construct = change.path.split("/", 1)[-1] if change.path else ""
            lines.append(
                f"| {change.action} | `{change.logical_id}` | {change.resource_type} | {construct} | "
                f"{_why(change, acknowledgements)} |"
            )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------
# Synthesis of a revision
# --------------------------------------------------------------------------------------------------


def _run(command: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed argv, no shell
        list(command), cwd=cwd, env=dict(env) if env is not None else None, capture_output=True, text=True,
        check=False,
    )  # fmt: skip


def export_revision(repo: Path, ref: str, target: Path) -> None:
    """Write the tree of ``ref`` (committed files only) into ``target`` with ``git archive``."""
    check = _run(["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], repo)
    if check.returncode != 0:
        raise PlanError(f"--base {ref!r} is not a commit of {repo} (fetch it first, e.g. `git fetch origin {ref}`)")
    target.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(  # noqa: S603
        ["git", "archive", "--format=tar", check.stdout.strip()], cwd=repo, capture_output=True, check=False  # noqa: S607
    )
    if archive.returncode != 0:
        raise PlanError(f"git archive {ref} failed: {archive.stderr.decode(errors='replace').strip()}")
    extract = subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, capture_output=True, check=False)  # noqa: S603, S607
    if extract.returncode != 0:
        raise PlanError(f"cannot extract {ref}: {extract.stderr.decode(errors='replace').strip()}")


def synthesize_revision(source: Path, outdir: Path, *, path_metadata: bool = True) -> Assembly:
    """Synthesize the app in ``source`` (a checkout holding ``app.py`` and ``cdk.json``) into ``outdir``.

    Runs ``app.py`` in a fresh Python process the way ``cdk synth`` does (``cdk.json``'s context in
    ``CDK_CONTEXT_JSON``, ``CDK_OUTDIR``), importing ``meshworks`` from ``source`` itself rather than the
    installed copy, offline. cdk-nag findings do not stop the plan (the templates are written anyway).
    ``path_metadata``: write construct paths as ``cdk synth`` does (they also enter the hash of nested
    template assets, such as a Service Catalog product's). Default: True.

    Raises:
        PlanError: no ``app.py``/``cdk.json``, or the app failed to synthesize (its last error lines).
    """
    cdk_json = source / "cdk.json"
    if not (source / "app.py").exists() or not cdk_json.exists():
        raise PlanError(f"{source} has no app.py and cdk.json to synthesize")
    # What `cdk synth` adds to cdk.json's context: construct paths in the template metadata.
    # cdk-nag is off (``@meshworks/policyChecks``, honoured by revisions that know it): templates are the same.
    context = {
        **json.loads(cdk_json.read_text()).get("context", {}),
        "aws:cdk:enable-path-metadata": path_metadata,
        "@meshworks/policyChecks": False,
    }
    shim = Path(tempfile.mkdtemp(prefix="meshworks-plan-pkg-"))
    try:
        package = shim / "meshworks"
        package.mkdir()
        (package / "__init__.py").write_text('"""meshworks, mapped onto a checkout by meshworks plan."""\n')
        for name in ("constructs", "stacks", "lambdas"):
            if (source / name).is_dir():
                (package / name).symlink_to((source / name).resolve(), target_is_directory=True)
        env = {
            **os.environ,
            "CDK_CONTEXT_JSON": json.dumps(context),
            "CDK_OUTDIR": str(outdir),
            "PYTHONPATH": os.pathsep.join([str(shim), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            "CDK_DISABLE_CLI_TELEMETRY": "true",
            "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "CDK_VALIDATION": "false",  # the CDK's own template validation: `make synth` runs it
        }
        node_bin = source / "node_modules" / ".bin"  # the pinned Node.js of `make install`, when present
        if node_bin.is_dir():
            env["PATH"] = os.pathsep.join([str(node_bin), env.get("PATH", "")])
        result = _run([sys.executable, "app.py"], source, env)
    finally:
        shutil.rmtree(shim, ignore_errors=True)
    if not (outdir / "manifest.json").exists():
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-12:])
        raise PlanError(f"synthesizing {source} failed (exit {result.returncode}):\n{tail}")
    return read_assembly(outdir)
