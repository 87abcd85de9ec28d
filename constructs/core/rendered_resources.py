"""``RenderedResourcesSynthesizer``: CloudFormation resources written by Python into a stack's template.

Building a construct costs a round trip to the jsii Node kernel per resource and per dependency
(about 0.4 ms of CPU), and synthesis resolves every property in Node again. For a stack whose
resources are plain data computed in Python (no tokens, no references to other constructs), that
is all overhead: the reference mesh's 10,000 data products are 85,000 such resources, and building
them as constructs took about 90 of its 118 seconds (``benchmarks/RESULTS.md``).

This synthesizer is aws-cdk-lib's ``DefaultStackSynthesizer`` plus one step: after the CDK has
written the stack's template (its own constructs: bootstrap-version rule, ``CDKMetadata``, anything
else in the stack) and before the template is hashed into its file asset, it inserts the rendered
resources in front of the CDK's (the order ``cdk synth`` writes a stack whose first child holds
them) and writes the file again as the CDK does (``JSON.stringify(template, undefined, 1)``, not indented
with ``suppressTemplateIndentation``; with the CDK's warning past 80 % of CloudFormation's 1 MB). The
asset hash is the SHA-256 of the final text, as aws-cdk-lib computes it, so ``cdk deploy`` uploads
and deploys exactly what was written.

What rendered resources do not have (use constructs where one of these matters): they are not
constructs, so Aspects (cdk-nag, ``Tags.of``, ``RemovalPolicies.of``) do not visit them and there
is no escape hatch per resource; the cloud assembly's metadata has no ``aws:cdk:logicalId`` entry for
them (``cdk deploy`` shows their logical ids instead of construct paths in its progress; the
template's ``aws:cdk:path`` metadata is written as the CDK writes it). The CDK's 500-resource check
does not see them, so the synthesizer makes it again on the merged template (context
``@aws-cdk/core:stackResourceLimit``, 500 by default).

Example::

    from aws_cdk import App, Environment, Stack

    from meshworks.constructs.core.rendered_resources import RenderedResourcesSynthesizer

    app = App()
    synthesizer = RenderedResourcesSynthesizer()
    stack = Stack(app, "Rendered", synthesizer=synthesizer,
                  env=Environment(account="111111111111", region="eu-west-1"))
    synthesizer.add_resources({"Tag": {"Type": "AWS::LakeFormation::Tag",
                                       "Properties": {"TagKey": "tier", "TagValues": ["gold"]}}})
    app.synth()
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from hashlib import md5
from pathlib import Path
from typing import Any

from aws_cdk import Annotations, DefaultStackSynthesizer, FileAssetSource, ISynthesisSession, Stack

__all__ = ["RenderedResourcesSynthesizer", "is_literal", "js_truthy", "logical_id", "write_template_text"]

#: Top-level keys a stack's template starts with, before any element's section (aws-cdk-lib ``Stack._toCloudFormation``).
TEMPLATE_OPTION_KEYS = ("Description", "Transform", "AWSTemplateFormatVersion", "Metadata")
#: aws-cdk-lib's context key of the most resources a stack may hold (0: no limit), and its default.
STACK_RESOURCE_LIMIT_CONTEXT = "@aws-cdk/core:stackResourceLimit"
DEFAULT_STACK_RESOURCE_LIMIT = 500
#: aws-cdk-lib's context key of ``Stack(suppress_template_indentation=...)``'s default.
SUPPRESS_TEMPLATE_INDENTATION_CONTEXT = "@aws-cdk/core:suppressTemplateIndentation"
#: aws-cdk-lib warns (``@aws-cdk/core:Stack.templateSize``) when a template's text passes 80 % of this.
TEMPLATE_BODY_MAXIMUM_SIZE = 1_000_000
#: aws-cdk-lib's ``makeUniqueId`` constants (``core/lib/private/uniqueid.ts``).
_HIDDEN_ID = "Default"
_HIDDEN_FROM_HUMAN_ID = "Resource"
_HASH_LEN = 8
_MAX_HUMAN_LEN = 240
_MAX_ID_LEN = 255


def _alphanumeric(text: str) -> str:
    return "".join(ch for ch in text if ch.isascii() and ch.isalnum())


def logical_id(components: Iterable[str]) -> str:
    """The logical id the CDK allocates to a resource at ``components`` (its construct path below the stack).

    aws-cdk-lib's ``makeUniqueId``: the path's ids without ``Default``, alphanumerics of each (``Resource``
    left out of the readable part, a component the previous one ends with dropped), cut at 240 characters,
    plus the first 8 hex digits of the MD5 of the ids joined by ``/``, upper-case. A path of one id is
    that id's alphanumerics. ``tests/core/test_rendered_resources.py`` compares it with the CDK's.
    """
    parts = [c for c in components if c != _HIDDEN_ID]
    if not parts:
        raise ValueError("logical_id: a resource needs at least one construct id below its stack")
    if len(parts) == 1:
        candidate = _alphanumeric(parts[0])
        if len(candidate) <= _MAX_ID_LEN:
            return candidate
    digest = md5("/".join(parts).encode("utf-8"), usedforsecurity=False).hexdigest()[:_HASH_LEN].upper()
    human: list[str] = []
    for part in parts:
        if not human or not human[-1].endswith(part):
            human.append(part)
    return "".join(_alphanumeric(p) for p in human if p != _HIDDEN_FROM_HUMAN_ID)[:_MAX_HUMAN_LEN] + digest


def is_literal(value: Any) -> bool:
    """True for a value with no CDK token in it (strings, numbers, booleans, lists and maps of them).

    Checked in Python (a token is encoded as ``${Token[...]}`` in a string, ``#{Token[...]}`` in a list):
    ``Token.is_unresolved`` would cost a jsii round trip per value.
    """
    if isinstance(value, str):
        return "${Token[" not in value and "#{Token[" not in value
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        return -(2**53) < value < 2**53  # numeric tokens are huge doubles
    if isinstance(value, (list, tuple)):
        return all(is_literal(v) for v in value)
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and is_literal(k) and is_literal(v) for k, v in value.items())
    return False


def js_truthy(value: Any) -> bool:
    """JavaScript's truthiness, which the CDK applies to context flags (``"false"`` is true there)."""
    if isinstance(value, float):
        return value == value and value != 0  # NaN and 0 are false
    return value not in (None, False, 0, "")


def write_template_text(template: Mapping[str, Any], *, indent: bool = True) -> str:
    """The template's text as aws-cdk-lib writes it: ``JSON.stringify(template, undefined, 1)``, or without
    ``indent`` (``suppressTemplateIndentation``) ``JSON.stringify(template)``."""
    if not indent:
        return json.dumps(template, separators=(",", ":"), ensure_ascii=False)
    return json.dumps(template, indent=1, ensure_ascii=False)


def _js_length(text: str) -> int:
    """``text.length`` in JavaScript (UTF-16 code units), which aws-cdk-lib compares with the template body limit."""
    return len(text.encode("utf-16-le")) // 2


class RenderedResourcesSynthesizer(DefaultStackSynthesizer):
    """A ``DefaultStackSynthesizer`` that adds resources rendered in Python to its stack's template.

    Bound to the first stack that uses it; another stack given the same instance (or every stack, as
    ``App(default_stack_synthesizer=...)``) gets a copy of it: add resources through ``stack.synthesizer``. Takes the
    ``DefaultStackSynthesizer`` properties (qualifier, role ARNs...). See the module documentation for
    what rendered resources lack compared with constructs.

    Raises:
        ValueError: at synthesis (``app.synth()`` reports it as a ``RuntimeError`` from jsii): a rendered logical id
            is also a logical id of the stack's own template, or was added twice; the template holds more resources
            than the stack may (``@aws-cdk/core:stackResourceLimit``, 500).
    """

    def __init__(self, **props: Any) -> None:
        super().__init__(**props)
        self._props = props
        self._bound = False
        self._sources: list[Callable[[], Mapping[str, Any]] | Mapping[str, Any]] = []
        #: Resources rendered into the last template written (logical id -> resource), for inspection.
        self.rendered_resources: dict[str, Any] = {}

    def add_resources(self, resources: Mapping[str, Any] | Callable[[], Mapping[str, Any]]) -> None:
        """Add ``resources`` (logical id -> CloudFormation resource), or a function returning them at synthesis.

        Resources are written in the order added, in front of the stack's constructs' resources. They
        must hold literal values only (``is_literal``): nothing resolves tokens in them.
        """
        self._sources.append(resources)

    # Stack binds a reusable synthesizer to a copy of it, which Python never sees; bind this one instead
    # so that its Python overrides run with their stack bound, or, once it is bound (the synthesizer is
    # ``App(default_stack_synthesizer=...)``, shared by every stack), a new instance with the same properties.
    def reusable_bind(self, stack: Stack) -> RenderedResourcesSynthesizer:  # noqa: D102 - jsii override
        synthesizer = RenderedResourcesSynthesizer(**self._props) if self._bound else self
        synthesizer.bind(stack)
        synthesizer._bound = True  # noqa: SLF001 - same class
        return synthesizer

    def _synthesize_template(
        self,
        session: ISynthesisSession,
        lookup_role_arn: str | None = None,
        lookup_role_external_id: str | None = None,
        lookup_role_additional_options: Mapping[str, Any] | None = None,
    ) -> FileAssetSource:
        source = super()._synthesize_template(
            session, lookup_role_arn, lookup_role_external_id, lookup_role_additional_options
        )
        rendered: dict[str, Any] = {}
        for item in self._sources:
            resources = item() if callable(item) else item
            twice = sorted(set(rendered) & set(resources))
            if twice:
                raise ValueError(
                    f"{source.file_name}: rendered resources added twice under the same logical ids: "
                    f"{', '.join(twice[:5])}; give each resource its own logical id"
                )
            rendered.update(resources)
        self.rendered_resources = rendered
        if not rendered:
            return source
        path = Path(session.outdir) / source.file_name
        written = path.read_text(encoding="utf-8")
        template = json.loads(written)
        own = template.get("Resources", {})
        clash = sorted(set(own) & set(rendered))
        if clash:
            raise ValueError(
                f"{source.file_name}: rendered resources reuse the logical ids of the stack's constructs: "
                f"{', '.join(clash[:5])}; give the constructs other ids"
            )
        merged: dict[str, Any] = {k: template[k] for k in TEMPLATE_OPTION_KEYS if k in template}
        merged["Resources"] = {**rendered, **own}
        stack = self._bound_stack
        limit = stack.node.try_get_context(STACK_RESOURCE_LIMIT_CONTEXT)
        limit = DEFAULT_STACK_RESOURCE_LIMIT if limit is None else int(limit)
        if 0 < limit < len(merged["Resources"]):  # the check Stack._synthesizeTemplate makes on its constructs
            raise ValueError(
                f"Number of resources in stack '{stack.node.path}': {len(merged['Resources'])} is greater than "
                f"allowed maximum of {limit} ({len(rendered)} rendered): spread the resources over more stacks"
            )
        if limit > 0 and len(own) < limit * 0.8 <= len(merged["Resources"]):  # the CDK's note on its own count
            Annotations.of(stack).add_info(
                f"Number of resources: {len(merged['Resources'])} is approaching allowed maximum of {limit}"
            )
        merged.update((k, v) for k, v in template.items() if k not in merged)
        # The CDK indents with one space unless the stack suppresses it (then the text has no newline).
        indent = written.startswith("{\n") or (
            written == "{}" and not js_truthy(stack.node.try_get_context(SUPPRESS_TEMPLATE_INDENTATION_CONTEXT))
        )
        text = write_template_text(merged, indent=indent)
        threshold = TEMPLATE_BODY_MAXIMUM_SIZE * 0.8
        if _js_length(text) > threshold >= _js_length(written):  # the CDK warned about its own text already
            verb = "exceeds" if _js_length(text) > TEMPLATE_BODY_MAXIMUM_SIZE else "is approaching"
            advice = "Split resources into multiple stacks" + (
                " or set suppressTemplateIndentation" if indent else ""
            )
            Annotations.of(stack).add_warning_v2(
                "@aws-cdk/core:Stack.templateSize",
                f"Template size {verb} limit: {_js_length(text)}/{TEMPLATE_BODY_MAXIMUM_SIZE}. "
                f"{advice} to reduce template size.",
            )
        path.write_text(text, encoding="utf-8")
        return FileAssetSource(
            file_name=source.file_name,
            packaging=source.packaging,
            source_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            deploy_time=source.deploy_time,
            display_name=source.display_name,
        )
