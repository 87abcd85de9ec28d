"""Applies ``-c meshworks.a.b=value`` overrides to the configuration, guided by the config's own types.

The CDK CLI passes every ``-c key=value`` as a string. A string is kept as typed for a field whose type is
a string (an account id ``012345678901`` stays a 12-digit string); for any other field it is read as JSON
(``0``, ``true``, ``["glue","sts"]``, ``{"sales": 8}``). A dotted part that is a number indexes a list
(``environments.consumers.0.account``; the list's length appends an item). A section or list that
``cdk.json`` does not set starts from its default, so an override changes one value and keeps the rest.
"""

from __future__ import annotations

import difflib
import json
import types
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined


class OverrideProblem(ValueError):
    """One bad ``-c`` override: the full key, the value as typed and the fix."""

    def __init__(self, key: str, value: Any, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.value = value
        self.message = message

    def __str__(self) -> str:
        return f"{self.key} = {json.dumps(self.value)}: {self.message}"


def _unwrap(annotation: Any) -> Any:
    """``Annotated[X, ...]`` and ``X | None`` -> ``X``."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _is_sequence(annotation: Any) -> bool:
    return get_origin(annotation) in (list, tuple, Sequence)


def _is_mapping(annotation: Any) -> bool:
    return get_origin(annotation) in (dict, Mapping)


def _is_optional(annotation: Any) -> bool:
    """``X | None`` (possibly inside ``Annotated``)."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation)


def _is_text(annotation: Any) -> bool:
    """A field that holds a string (``str``, a constrained ``str`` or a ``Literal`` of strings)."""
    annotation = _unwrap(annotation)
    if annotation is str:
        return True
    return get_origin(annotation) is Literal and all(isinstance(a, str) for a in get_args(annotation))


def _child(annotation: Any, part: str) -> tuple[Any, FieldInfo | None]:
    """Type (and field) of ``part`` inside a value of type ``annotation``; ``(None, None)`` if unknown."""
    annotation = _unwrap(annotation)
    if _is_model(annotation):
        field = annotation.model_fields.get(part)
        return (field.annotation, field) if field else (None, None)
    if _is_sequence(annotation) and part.isdigit():
        return get_args(annotation)[0], None
    if _is_mapping(annotation):
        return get_args(annotation)[1], None
    return None, None


def _default(annotation: Any, field: FieldInfo | None) -> Any:
    """JSON form of a missing section's default, so that an override changes one value only."""
    if field is not None:
        default = field.get_default(call_default_factory=True)
        if default is not PydanticUndefined and default is not None:
            return TypeAdapter(field.annotation).dump_python(default, mode="json", by_alias=True)
    return [] if _is_sequence(_unwrap(annotation)) else {}


def _example(annotation: Any) -> str:
    annotation = _unwrap(annotation)
    if _is_sequence(annotation):
        return """'["a","b"]'"""
    return """'{"key":"value"}'"""


def parse_value(key: str, raw: Any, annotation: Any) -> Any:
    """The override ``raw`` for a field of type ``annotation`` (``None``: unknown field)."""
    if not isinstance(raw, str):
        return raw  # cdk.json or a programmatic context already holds JSON values
    if annotation is not None and _is_text(annotation):
        # "null" clears an optional text field (e.g. ingestion.files.schedule: null leaves the runs to a DAG);
        # a required one keeps the text, which the model then checks.
        return None if raw == "null" and _is_optional(annotation) else raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        target = _unwrap(annotation) if annotation is not None else None
        if target is not None and (_is_sequence(target) or _is_mapping(target) or _is_model(target)):
            raise OverrideProblem(
                key, raw, f"is not valid JSON ({exc.msg} at character {exc.pos + 1}); write this value as JSON, "
                f"e.g. -c {key}={_example(target)}"
            ) from None
        if raw.lstrip()[:1] in ("[", "{", '"'):
            raise OverrideProblem(key, raw, f"is not valid JSON ({exc.msg} at character {exc.pos + 1})") from None
        return raw  # e.g. "lots" for an integer: the model says what it expects


def apply_override(data: dict[str, Any], model: type[BaseModel], root: str, dotted: str, raw: Any) -> None:
    """Set ``root.dotted`` in ``data`` (the JSON form of ``model``); raises ``OverrideProblem``."""
    key = f"{root}.{dotted}"
    parts = dotted.split(".")
    if any(not p for p in parts):
        raise OverrideProblem(key, raw, "has an empty part; write keys as meshworks.section.field")
    node: Any = data
    annotation: Any = model
    for depth, part in enumerate(parts):
        here = ".".join([root, *parts[:depth]])
        child_annotation, field = _child(annotation, part) if annotation is not None else (None, None)
        last = depth == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) > len(node):
                raise OverrideProblem(
                    key, raw, f"{here} is a list of {len(node)} item(s): use an index from 0 to {len(node) - 1}, "
                    f"or {len(node)} to add an item"
                )
            index = int(part)
            if index == len(node):
                node.append({} if not last else None)
            if last:
                node[index] = parse_value(key, raw, child_annotation)
                return
            if not isinstance(node[index], (dict, list)):
                node[index] = _default(child_annotation, field)
            node, annotation = node[index], child_annotation
            continue
        if not isinstance(node, dict):
            raise OverrideProblem(key, raw, f"{here} is a single value, not a section; set {here} itself")
        if last:
            node[part] = parse_value(key, raw, child_annotation)
            return
        if not isinstance(node.get(part), (dict, list)):
            if annotation is not None and child_annotation is None and _is_model(_unwrap(annotation)):
                known = list(_unwrap(annotation).model_fields)
                close = difflib.get_close_matches(part, known, n=1)
                hint = f"did you mean {here}.{close[0]}? " if close else ""
                raise OverrideProblem(key, raw, f"{here} has no key {part!r}; {hint}known keys: {', '.join(known)}")
            node[part] = _default(child_annotation, field)
        node, annotation = node[part], child_annotation


def looks_like_root_typo(key: str, root: str) -> bool:
    """A context key that was probably meant to start with ``root.`` (``meshwork.prefix``, ``Meshworks.x``)."""
    head = key.split(".", 1)[0]
    if head == root or key.startswith("@"):
        return False
    lowered = head.lower()
    if lowered.startswith(root) and lowered[len(root) : len(root) + 1] in ("_", "-", ":", "/"):
        return True  # meshworks_prefix, meshworks:prefix
    return lowered == root or difflib.SequenceMatcher(None, lowered, root).ratio() >= 0.8
