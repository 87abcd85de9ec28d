"""Every example we publish runs (issue 16): docstring ``Example::`` blocks and README/docs Python blocks.

What is executed, and how:

- every ``Example::`` block of a public docstring (module, class, function, method) in the public modules of
  ``constructs/`` and ``stacks/`` (a module or name starting with ``_`` is private): each block alone, in a
  fresh namespace, with only the imports it shows;
- every fenced ```` ```python ```` block of ``README.md`` and ``docs/*.md``: the blocks of one page in order, in
  one fresh namespace per page (a page reads top to bottom, like a notebook; nothing outside the page is
  available);
- a block that is a fragment on purpose says so where the reader sees it: ```` ```python no-run ```` in
  Markdown, ``Example (fragment)::`` in a docstring. Keep them rare: each one is listed in this test.

Every ``App`` an example makes carries meshworks' policy checks (``add_policy_checks``: cdk-nag's AWS Solutions
and NIST 800-53 rev 5 packs, what the reference app runs), so an example that leaves its reader a finding fails.
Every ``App`` an example leaves behind is synthesized (a no-op when the example already called ``synth()``),
and its cloud assembly must not ask for a context lookup (``missing``): examples synthesize offline. An
example that creates constructs but no ``App`` fails: the reader could not run it.

The blocks run in this process (one jsii kernel for all of them) from the repository root, so relative paths
such as ``contracts/`` resolve as they do for a reader of the repository.
"""

from __future__ import annotations

import ast
import json
import re
import textwrap
import warnings
from dataclasses import dataclass
from pathlib import Path

import aws_cdk
import pytest
from aws_cdk import App

from meshworks.constructs.core.nag import add_policy_checks

ROOT = Path(__file__).resolve().parent.parent
SOURCE_ROOTS = ("constructs", "stacks")
PAGES = ("README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")))
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```python(?P<flags>[^\n]*)\n(?P<code>.*?)^(?P=indent)```\s*$", re.MULTILINE | re.DOTALL
)
#: Fragments on purpose (visible as such to the reader). Adding one here is a review decision.
EXPECTED_FRAGMENTS: set[str] = {
    # Airflow DAG code: needs the MWAA environment's packages (dags/ are tested on real Airflow).
    "docs/spark.md: # inside an Airflow DAG (boto3 and the Amazon provider are in the MWAA environment, not in meshworks)",
}


@dataclass(frozen=True)
class Example:
    id: str
    code: str
    fragment: bool = False


def _public(path: Path) -> bool:
    return not any(part.startswith("_") and part != "__init__.py" for part in path.relative_to(ROOT).parts)


def _docstring_blocks(doc: str) -> list[tuple[str, bool]]:
    """The indented blocks after ``Example::`` / ``Example (fragment)::`` in a cleaned docstring."""
    blocks = []
    lines = doc.splitlines()
    for index, line in enumerate(lines):
        marker = line.strip()
        if marker not in ("Example::", "Example (fragment)::"):
            continue
        indent = len(line) - len(line.lstrip())
        body: list[str] = []
        for following in lines[index + 1 :]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            body.append(following)
        blocks.append((textwrap.dedent("\n".join(body)).strip() + "\n", marker != "Example::"))
    return blocks


def docstring_examples() -> list[Example]:
    examples = []
    for root in SOURCE_ROOTS:
        for path in sorted((ROOT / root).rglob("*.py")):
            if not _public(path):
                continue
            tree = ast.parse(path.read_text(), filename=str(path))
            nodes: list[tuple[str, ast.AST]] = [("module", tree)]
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and not node.name.startswith("_"):
                    nodes.append((node.name, node))
            for name, node in nodes:
                doc = ast.get_docstring(node)
                for number, (code, fragment) in enumerate(_docstring_blocks(doc or "")):
                    rel = path.relative_to(ROOT)
                    examples.append(Example(f"{rel}::{name}#{number}", code, fragment))
    return examples


def page_examples() -> list[Example]:
    examples = []
    for page in PAGES:
        text = (ROOT / page).read_text()
        runnable = []
        for match in FENCE.finditer(text):
            if "no-run" in match.group("flags"):
                code = textwrap.dedent(match.group("code"))
                examples.append(Example(f"{page}: {code.splitlines()[0]}", code, fragment=True))
            else:
                runnable.append(textwrap.dedent(match.group("code")))  # a block inside a list item is indented
        if runnable:
            examples.append(Example(page, "\n".join(runnable)))
    return examples


ALL = docstring_examples() + page_examples()
RUNNABLE = [example for example in ALL if not example.fragment]


def test_the_examples_are_found() -> None:
    """The extraction itself can fail silently (a renamed marker): pin what it must at least find."""
    ids = {example.id for example in ALL}
    assert len([i for i in ids if "::" in i]) >= 40, sorted(ids)
    assert {"README.md", "docs/mesh.md", "docs/spark.md", "docs/monitoring.md"} <= ids


def test_fragments_are_rare_and_declared() -> None:
    assert {example.id for example in ALL if example.fragment} == EXPECTED_FRAGMENTS


def _run(code: str, name: str) -> dict:
    namespace: dict = {"__name__": "__example__"}
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # an example never shows a deprecated argument
        exec(compile(code, name, "exec"), namespace)  # noqa: S102 - our own published examples
    return namespace


class _CheckedApp(App):
    """An ``App`` with meshworks' policy checks (cdk-nag's AWS Solutions and NIST 800-53 rev 5 packs): an example
    leaves its reader no finding, on our resources or on the reader's own (a grant's inline policy, a topic)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        add_policy_checks(self)


@pytest.mark.parametrize("example", RUNNABLE, ids=[example.id for example in RUNNABLE])
def test_example_runs_and_synthesizes_offline(example: Example, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("CDK_OUTDIR", str(tmp_path))  # apps without an outdir write here, not into the repo
    monkeypatch.setattr(aws_cdk, "App", _CheckedApp)  # what `from aws_cdk import App` gives the example
    namespace = _run(example.code, example.id)
    apps = [value for value in namespace.values() if isinstance(value, App)]
    if "Stack(" in example.code or "(stack," in example.code:
        assert apps, f"{example.id}: creates constructs but no App: a reader cannot run it"
    for app in apps:
        manifest = json.loads((Path(app.synth().directory) / "manifest.json").read_text())
        assert manifest.get("missing", []) == [], f"{example.id}: the example needs a context lookup"
