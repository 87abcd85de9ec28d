"""Acknowledging cdk-nag findings inside the library, one resource at a time, each with its reason.

Users of a meshworks construct must not inherit findings they would have to acknowledge
themselves, so every construct acknowledges its own justified findings on the exact L1
resource concerned. Rule ids are written as cdk-nag reports them, e.g. ``AwsSolutions-IAM5``,
``AwsSolutions-IAM5[Action::s3:*]`` or ``NIST.800.53.R5-S3BucketReplicationEnabled``.

IAM wildcards: cdk-nag reports every wildcard of a policy as its own finding
(``AwsSolutions-IAM5[Action::s3:List*]``, ``AwsSolutions-IAM5[Resource::<LakeRaw8A880B75.Arn>/*]``) and only
an acknowledgement of that exact id silences it. The ids contain logical ids (or, across stacks, export
names) and are complete only once every grant has filled the policy, possibly after the construct was
built (``bucket.grant_read(construct.role)`` in the user's code). So :func:`acknowledge_policies` registers
the scope with its Stage; at the validation step of synthesis (after references are resolved, before cdk-nag
runs) one validation of the Stage renders each IAM policy under a registered scope as cdk-nag does, once, and
acknowledges each wildcard matching one of the declared ``(pattern, reason)`` rules. A wildcard nobody declared stays a finding:
acknowledgements cannot hide a grant the construct did not expect.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import jsii
from aws_cdk import Acknowledgment, CfnResource, Stack, Stage, Validations
from aws_cdk import aws_iam as iam
from constructs import IConstruct, IValidation

_PACKS = ("AwsSolutions", "NIST.800.53.R5", "HIPAA.Security", "Serverless", "PCI.DSS.321")

#: ``(pattern, reason)``: a wildcard finding (``Action::...`` or ``Resource::...``) that the pattern matches
#: in full is acknowledged with the reason.
Rule = tuple[str, str]

# How the parts of an ARN appear in a finding. A stack without ``env`` (``Stack(app, "Analytics")``) renders them as
# the pseudo-parameter tokens ``<AWS::Partition>``, ``<AWS::Region>``, ``<AWS::AccountId>``; a stack with an ``env``
# as literals (``aws``, ``eu-west-1``, ``123456789012``). Every pattern of the library builds ARNs from these so
# that it accepts both forms (a hand-written ``[^:]+`` or ``\d{12}`` misses the token form).
#: An ARN's partition: ``<AWS::Partition>`` or ``aws``, ``aws-cn``, ``aws-us-gov``, ...
PARTITION = r"(<AWS::Partition>|aws[a-z-]*)"
#: An ARN's region: ``<AWS::Region>`` or a literal such as ``eu-west-1``, ``us-gov-west-1``.
REGION = r"(<AWS::Region>|[a-z]{2}(-[a-z]+)+-\d)"
#: An ARN's account: ``<AWS::AccountId>`` or a 12-digit account id.
ACCOUNT = r"(<AWS::AccountId>|\d{12})"
#: A bucket name, possibly built from the account and region (``cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>``).
BUCKET_NAME = r"([a-z0-9.-]|<AWS::AccountId>|<AWS::Region>)+"


def arn(service: str, resource: str, *, region: str = REGION, account: str = ACCOUNT) -> str:
    r"""The pattern of ``arn:<partition>:<service>:<region>:<account>:<resource>`` as cdk-nag renders it.

    ``service`` and ``resource`` are regular expressions; ``region`` / ``account`` default to :data:`REGION` /
    :data:`ACCOUNT` (both forms), pass ``""`` for services whose ARNs have none (S3).
    Example: ``"Resource::" + arn("sns", r"[a-z0-9-]+-mesh-refreshed-\*")``.
    """
    return f"arn:{PARTITION}:{service}:{region}:{account}:{resource}"


#: Wildcard actions of CDK's own ``grant_*`` methods, always scoped to the one resource of their statement.
CDK_GRANT_ACTIONS: Rule = (
    r"Action::(s3:(GetObject|GetBucket|List|DeleteObject|Abort|PutObject)\*|kms:(ReEncrypt|GenerateDataKey|Describe)\*)",
    "Action groups emitted by CDK grant_* methods (object reads/writes, key use), each limited to the one "
    "bucket or key named in the same statement.",
)
#: Objects of a bucket (``<Bucket.Arn>/*``, ``<Bucket.Arn>/prefix/*``, an imported bucket or a named one).
BUCKET_OBJECTS: Rule = (
    r"Resource::(<[A-Za-z0-9]+\.Arn>|[A-Za-z0-9-]+:ExportsOutput[A-Za-z0-9]+|" + arn("s3", BUCKET_NAME, region="", account="") + ")"
    r"/[A-Za-z0-9_./=-]*\*",
    "Object keys inside one named bucket (or one prefix of it); object names are created at run time.",
)
#: Objects of the CDK bootstrap assets bucket (read by CDK's ``BucketDeployment`` handler).
CDK_ASSET_OBJECTS: Rule = (
    r"Resource::" + arn("s3", r"cdk-[a-z0-9]+-assets-" + BUCKET_NAME, region="", account="") + r"/\*",
    "Reads the deployment's own asset objects from the CDK bootstrap assets bucket (object keys are content hashes).",
)


def _qualified(rule: str) -> str:
    if "::" in rule.split("[", 1)[0]:
        return rule
    for pack in _PACKS:
        if rule.startswith(pack + "-"):
            return f"{pack}::{rule}"
    raise ValueError(f"unknown cdk-nag rule id {rule!r}: expected one of the packs {', '.join(_PACKS)}")


def _resource(construct: IConstruct) -> IConstruct:
    """The L1 resource a finding is reported on (the default child of an L2, or itself)."""
    if isinstance(construct, CfnResource):
        return construct
    child = construct.node.default_child
    return child if child is not None else construct


def acknowledge(construct: IConstruct, reasons: Mapping[str, str]) -> None:
    """Acknowledge cdk-nag rules on one resource.

    Args:
        construct: the L1 resource, or an L2 whose default child is the resource.
        reasons: rule id → the reason it does not apply (must say why, not just "ok").
    """
    _acknowledge(construct, list(reasons.items()))


def _acknowledge(construct: IConstruct, pairs: Sequence[tuple[str, str]]) -> None:
    """:func:`acknowledge` with ``(rule id, reason)`` pairs: one rule may be acknowledged with several reasons."""
    target = _resource(construct)
    for rule, reason in pairs:
        if len(reason.strip()) < 20:
            raise ValueError(f"acknowledgement of {rule} on {target.node.path} needs a real reason")
    if pairs:  # one jsii call for all of them: the same metadata, in the same order, as one call each
        Validations.of(target).acknowledge(*(Acknowledgment(id=_qualified(rule), reason=reason) for rule, reason in pairs))


# ---------------------------------------------------------------------------------------- IAM wildcards


def flatten(value: Any) -> str:
    """A resolved CloudFormation value as cdk-nag renders it in finding ids (its ``flattenCfnReference``).

    ``{"Fn::GetAtt": ["Logs1C30", "Arn"]}`` -> ``<Logs1C30.Arn>``, ``{"Ref": "AWS::Partition"}`` ->
    ``<AWS::Partition>``, ``${AWS::Region}`` in ``Fn::Sub`` -> ``<AWS::Region>``, ``{"Fn::ImportValue": "X"}``
    (a cross-stack reference) -> ``X``, ``Fn::Join`` -> the joined parts; anything else as compact JSON.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("${", "<").replace("}", ">")
    if isinstance(value, dict):
        if value.get("Fn::Join"):
            delimiter, items = value["Fn::Join"]
            return delimiter.join(flatten(item) for item in items)
        if value.get("Fn::Sub"):
            return flatten(value["Fn::Sub"])
        if value.get("Fn::GetAtt"):
            resource, attribute = value["Fn::GetAtt"]
            return f"<{flatten(resource)}.{flatten(attribute)}>"
        if value.get("Fn::ImportValue"):
            return flatten(value["Fn::ImportValue"])
        if value.get("Ref"):
            return f"<{flatten(value['Ref'])}>"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def wildcard_findings(document: Mapping[str, Any]) -> list[str]:
    """The ``Action::...`` / ``Resource::...`` suffixes of the IAM5 findings of a resolved policy document."""
    found: list[str] = []

    def as_list(value: Any) -> list[Any]:
        return value if isinstance(value, list) else [value]

    for statement in document.get("Statement", []):
        if statement.get("Effect") != "Allow":
            continue
        for action in as_list(statement.get("Action", [])):
            if isinstance(action, str) and "*" in action and f"Action::{action}" not in found:
                found.append(f"Action::{action}")
        for resource in as_list(statement.get("Resource", [])):
            text = flatten(resource)
            if "*" in text and f"Resource::{text}" not in found:
                found.append(f"Resource::{text}")
    return found


#: One call of :func:`acknowledge_policies` / :func:`acknowledge_grant`: its compiled rules and its extra rule ids.
_Registration = tuple[list[tuple[re.Pattern[str], str]], dict[str, str]]


@jsii.implements(IValidation)
class _PolicyAcknowledgements:
    """Every :func:`acknowledge_policies` and :func:`acknowledge_grant` of one Stage (the App, or a nested Stage),
    applied by one validation of that Stage.

    The Stage is validated before anything below it, after cross-stack references became imports (so the ids
    match what cdk-nag reports) and before the validation plugins (cdk-nag) read the metadata. Each policy is
    resolved and acknowledged once, however many registered scopes hold it: in the reference app 102 scopes
    cover 51 policies in 128 (scope, policy) pairs, each of which cost five jsii round trips when every scope
    had a validation of its own (issue 15). A policy's acknowledgements are recorded as they were then: the
    scopes holding it outermost first (the order the tree is validated in), each scope's in the order registered.

    A nested Stage writes its assembly before the Stages around it are validated, so its validation also applies
    what was registered there on scopes that hold it (an App-wide call, say), ahead of its own: the records are
    in its assembly, outermost first. The outer Stage's validation then finds them done.
    """

    def __init__(self, stage: IConstruct) -> None:
        self._stage = stage
        #: jsii ref of a scope -> (the scope, its ``(rules, extra)`` registrations in order)
        self._scopes: dict[str, tuple[IConstruct, list[_Registration]]] = {}

    def add(self, scope: IConstruct, rules: Sequence[Rule], extra: Mapping[str, str]) -> None:
        compiled = [(re.compile(pattern), reason) for pattern, reason in rules]
        self._scopes.setdefault(_ref(scope), (scope, []))[1].append((compiled, dict(extra)))

    def validate(self) -> list[str]:
        # jsii ref of a policy -> (the policy, [(size of the scope's subtree, registrations of the scope)])
        policies: dict[str, tuple[IConstruct, list[tuple[int, list[_Registration]]]]] = {}
        # (size: the more below a scope, the further out; what below it this Stage acknowledges; registrations)
        scopes: list[tuple[int, list[IConstruct], list[_Registration]]] = []
        for scope, registrations in self._scopes.values():
            below = scope.node.find_all()[1:]  # what is below the scope, in pre-order
            scopes.append((len(below), below, registrations))
        enclosing = self._enclosing_scopes()
        if enclosing:  # they hold this whole Stage and more: further out than any scope in it, the shortest path first
            below_stage = self._stage.node.find_all()[1:]
            for path, registrations in enclosing:
                scopes.append((_ENCLOSING - len(path), below_stage, registrations))
        for size, below, registrations in scopes:
            for node in below:
                if isinstance(node, (iam.CfnPolicy, iam.CfnManagedPolicy)):
                    policies.setdefault(_ref(node), (node, []))[1].append((size, registrations))
        for ref, (policy, holders) in policies.items():
            document = Stack.of(policy).resolve(policy.policy_document)  # type: ignore[attr-defined]
            findings = wildcard_findings(document or {})
            done = _ACKNOWLEDGED.setdefault(ref, set())
            pairs: list[tuple[str, str]] = []
            # The scopes holding one policy are its ancestors: the one with more below it is further out.
            for _, registrations in sorted(holders, key=lambda holder: -holder[0]):
                for rules, extra in registrations:
                    candidates = list(extra.items())
                    for finding in findings:
                        reason = next((text for pattern, text in rules if pattern.fullmatch(finding)), None)
                        if reason is not None:
                            candidates.append((f"AwsSolutions-IAM5[{finding}]", reason))
                    for pair in candidates:
                        if pair not in done:
                            done.add(pair)
                            pairs.append(pair)
            _acknowledge(policy, pairs)
        return []

    def _enclosing_scopes(self) -> list[tuple[str, list[_Registration]]]:
        """(path, registrations) of the scopes registered in the Stages around this one that hold it."""
        found: list[tuple[str, list[_Registration]]] = []
        stage = Stage.of(self._stage)
        if stage is None:  # the App (or a root without one): nothing encloses it
            return found
        path = self._stage.node.path
        while stage is not None:
            registry = _REGISTRIES.get(_ref(stage))
            if registry is not None:
                for scope, registrations in registry._scopes.values():
                    outer = scope.node.path
                    if outer == "" or path.startswith(outer + "/"):
                        found.append((outer, registrations))
            stage = Stage.of(stage)
        return found


def _ref(construct: Any) -> str:
    """The jsii kernel's id of an object: stable for its lifetime, unlike the Python proxy of an object made in
    JavaScript (a new proxy each time it crosses), and never reused by the kernel."""
    return construct.__jsii_ref__.ref


#: jsii ref of a Stage -> its acknowledgements (one validation each).
_REGISTRIES: dict[str, _PolicyAcknowledgements] = {}
#: jsii ref of a policy -> the ``(rule id, reason)`` pairs acknowledged on it, by any Stage (a second synthesis, or
#: an outer Stage after a nested one, adds only new ones). jsii never reuses a ref within a process.
_ACKNOWLEDGED: dict[str, set[tuple[str, str]]] = {}
#: Sort size of the scopes of enclosing Stages: more than any subtree has constructs.
_ENCLOSING = 1 << 40
#: ``(jsii ref of a principal, rules)`` already registered by :func:`acknowledge_grant`.
_GRANTS: set[tuple[str, tuple[Rule, ...]]] = set()


def _registry(scope: IConstruct) -> _PolicyAcknowledgements:
    """The acknowledgements of the Stage that synthesizes ``scope``, created with its validation on first use.

    A Stage (or App) given as ``scope`` is its own: ``Stage.of`` would name its parent, whose validation runs only
    after the nested Stage's assembly is written, so that assembly's metadata would lack the acknowledgements.
    """
    stage = scope if isinstance(scope, Stage) else Stage.of(scope)
    if stage is None:  # the scope is an App (or the root of a tree without one)
        stage = scope.node.root
    key = _ref(stage)
    registry = _REGISTRIES.get(key)
    if registry is None:
        registry = _REGISTRIES[key] = _PolicyAcknowledgements(stage)
        stage.node.add_validation(registry)
    return registry


def acknowledge_policies(
    scope: IConstruct, rules: Sequence[Rule], *, extra: Mapping[str, str] | None = None
) -> None:
    """At synthesis, acknowledge on every IAM policy under ``scope`` the wildcard findings matching ``rules``.

    Policies created or filled after this call (later grants) are included. The first rule whose pattern
    matches a finding in full gives its reason; unmatched wildcards remain cdk-nag findings. When several calls
    cover one policy, every call's reason is kept in the policy's metadata, the outermost scope's first (in call
    order within one scope; an identical reason once), and cdk-nag's report gives the last of them. A nested
    ``Stage`` records the reasons of a scope around it (the App, say) in its own cloud assembly when it holds
    acknowledgements of its own (every meshworks construct's grants do); otherwise they are applied, and cdk-nag
    honours them, but only the App's in-memory tree holds them: call this on the Stage itself to record them there.

    Example::

        from aws_cdk import App, Stack
        from aws_cdk import aws_iam as iam

        from meshworks.constructs.core import acknowledge_policies
        from meshworks.constructs.core.nag import BUCKET_OBJECTS, CDK_GRANT_ACTIONS
        from meshworks.constructs.storage import SecureBucket

        app = App()
        stack = Stack(app, "Exports")
        bucket = SecureBucket(stack, "Exports")
        role = iam.Role(stack, "Reader", assumed_by=iam.ServicePrincipal("glue.amazonaws.com"))
        bucket.grant_read(role)
        acknowledge_policies(role, [CDK_GRANT_ACTIONS, BUCKET_OBJECTS],
                             extra={"NIST.800.53.R5-IAMNoInlinePolicy": "The role serves this construct only."})
        app.synth()

    Args:
        scope: a construct (e.g. ``self`` or one role); every ``iam.CfnPolicy`` / ``CfnManagedPolicy`` below it.
        rules: ``(pattern, reason)`` pairs, the pattern matched in full against ``Action::<action>`` or
            ``Resource::<resource as cdk-nag renders it>``.
        extra: other rule ids acknowledged on each of these policies (e.g. ``NIST.800.53.R5-IAMNoInlinePolicy``).
            Default: none.

    Raises:
        re.error: a pattern is not a regular expression.
    """
    _registry(scope).add(scope, rules, extra or {})


# ------------------------------------------------------------------------------ grants to the user's principals

#: Why the inline policy a ``grant_*`` method fills on the grantee is acceptable (``NIST.800.53.R5-IAMNoInlinePolicy``).
GRANTEE_INLINE_POLICY = (
    "NIST.800.53.R5-IAMNoInlinePolicy",
    "CDK grant_* methods (meshworks' included) write least-privilege statements into the grantee's default "
    "policy, each scoped to the resources of the construct that granted them.",
)


def acknowledge_grant(grantee: Any, rules: Sequence[Rule] = ()) -> None:
    """Acknowledge, on the grantee's own policy, the findings that a meshworks ``grant_*`` method adds there.

    Called by every public ``grant_*`` method of the library, so that an engineer who grants a meshworks
    resource to a role of their own app inherits no cdk-nag finding: the wildcards the grant writes are
    acknowledged by pattern (``rules``) with their reasons at synthesis, and the inline policy CDK's grants use
    with ``GRANTEE_INLINE_POLICY``. Wildcards of the user's own statements that match no rule stay findings.
    Principals without a policy of their own (an account, a service) get nothing: the grant went to a resource
    policy instead.

    Args:
        grantee: the ``iam.IGrantable`` passed to the ``grant_*`` method.
        rules: ``(pattern, reason)`` of the wildcards this grant writes (see :func:`acknowledge_policies`).
    """
    principal = getattr(grantee, "grant_principal", grantee)
    ref = getattr(principal, "__jsii_ref__", None)
    mark = (ref.ref if ref is not None else str(id(principal)), tuple(rules))
    if mark in _GRANTS:  # one registration per principal and rule set, however many grants
        return
    node = getattr(principal, "node", None)
    if node is None:
        return
    _GRANTS.add(mark)
    _registry(principal).add(principal, rules, dict([GRANTEE_INLINE_POLICY]))


def add_policy_checks(scope: IConstruct) -> None:
    """Run cdk-nag's AWS Solutions and NIST 800-53 rev 5 packs on every stack under ``scope`` (an ``App``) at synth.

    The packs meshworks is checked with; findings fail ``cdk synth`` and are written to
    ``cdk.out/validation-report.json``. Acknowledge a finding of your own on its resource with :func:`acknowledge`
    (or :func:`acknowledge_policies` for IAM wildcards), each with its reason.

    Example::

        from aws_cdk import App, Stack

        from meshworks.constructs.core.nag import add_policy_checks
        from meshworks.constructs.storage import SecureBucket

        app = App()
        SecureBucket(Stack(app, "Exports"), "Exports")   # your stacks
        add_policy_checks(app)
        app.synth()   # fails on any unacknowledged finding
    """
    from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks

    Validations.of(scope).add_plugins(AwsSolutionsChecks(scope), NIST80053R5Checks(scope))
