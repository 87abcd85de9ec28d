"""``meshworks validate`` / ``meshworks schema``: exit codes, output, and no traceback for any input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshworks.stacks.cli import main

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts"
PROBLEM_LINE = re.compile(r"^.+:\d+: .+: .+$")


def test_valid_contracts_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(CONTRACTS)]) == 0
    captured = capsys.readouterr()
    # From the app folder the configuration's datasets (ingestion.datasets_path) and offline product are checked too.
    assert captured.out == (
        "meshworks validate: 6 data product(s) (1 from dataset files, 1 from feature_store.offline_product) in 4 domain(s) "
        "passed validation\n"
    )
    assert captured.err == ""


def test_problems_exit_1_sorted_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (CONTRACTS / "sales" / "orders.yaml").read_text(encoding="utf-8")
    (tmp_path / "b.yaml").write_text(text.replace("format: parquet", "format: xml"), encoding="utf-8")
    (tmp_path / "a.yaml").write_text(text.replace("name: orders", "name: Orders"), encoding="utf-8")
    assert main(["validate", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert lines == [
        f"{tmp_path}/a.yaml:2: name: name 'Orders' is not snake_case: use lowercase letters, digits and single "
        "underscores, starting with a letter such as 'orders'",
        f"{tmp_path}/b.yaml:12: format: 'xml' is not one of: parquet, json, csv, avro, orc, iceberg, hudi, delta",
        "meshworks validate: 2 problems in 2 file(s)",
    ]


def test_github_annotations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.yaml").write_text("name: [\n", encoding="utf-8")
    assert main(["validate", "--format", "github", str(tmp_path)]) == 1
    assert capsys.readouterr().out.startswith(f"::error file={tmp_path}/x.yaml,line=2,title=(yaml)::invalid YAML")


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["validate"],
        ["frobnicate"],
        ["validate", "--bogus", "contracts"],
        ["validate", "--format", "xml", "contracts"],
        ["validate", "does/not/exist"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("meshworks: error: ")
    assert "Traceback" not in err


def test_bad_config_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cdk.json"
    path.write_text("- not json\n", encoding="utf-8")
    assert main(["validate", "--config", str(path), str(CONTRACTS)]) == 2
    assert "is not JSON" in capsys.readouterr().err
    path.write_text('{"context": {}}', encoding="utf-8")
    assert main(["validate", "--config", str(path), str(CONTRACTS)]) == 2
    assert "no context.meshworks" in capsys.readouterr().err
    assert main(["validate", "--config", str(tmp_path / "missing.json"), str(CONTRACTS)]) == 2


def test_config_domain_map_is_applied(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads((ROOT / "cdk.json").read_text(encoding="utf-8"))
    data["context"]["meshworks"]["mesh"]["domains"]["marketing"]["buckets"] = ["s3://other/"]
    path = tmp_path / "cdk.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert main(["validate", "--config", str(path), str(CONTRACTS)]) == 1
    err = capsys.readouterr().err
    assert err.count("is outside the locations of domain 'marketing' (s3://other/)") == 2


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert main(["validate", "--help"]) == 0
    assert "--config" in capsys.readouterr().out


def test_schema_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "DataProductContract"
    out = tmp_path / "schema.json"
    assert main(["schema", "--output", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8")) == schema
    assert main(["schema", "--output", str(tmp_path / "missing" / "x.json")]) == 2


def test_internal_errors_are_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import meshworks.constructs.mesh.loader as loader

    def boom(*_: Any, **__: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(loader, "load_contracts", boom)
    assert main(["validate", str(CONTRACTS)]) == 3
    assert capsys.readouterr().err == "meshworks: internal error (please report it): RuntimeError: boom\n"


def test_installed_console_script() -> None:
    script = Path(sys.executable).with_name("meshworks")
    if not script.exists():
        pytest.skip("the meshworks console script is not installed in this environment")
    ok = subprocess.run([script, "validate", "contracts/"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert (ok.returncode, ok.stdout, ok.stderr) == (
        0,
        "meshworks validate: 6 data product(s) (1 from dataset files, 1 from feature_store.offline_product) in 4 domain(s) "
        "passed validation\n",
        "",
    )
    with tempfile.TemporaryDirectory() as folder:
        bad = Path(folder) / "bad.yaml"
        bad.write_bytes(b"\xff\xfe garbage")
        failed = subprocess.run([script, "validate", folder], capture_output=True, text=True, check=False)
    assert failed.returncode == 1
    assert "not UTF-8 text" in failed.stderr
    assert "Traceback" not in failed.stderr


# ---- property-based: garbage never raises ---------------------------------------------------------

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _run_on(content: bytes) -> tuple[int, list[str]]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.yaml"
        path.write_bytes(content)
        problems: list[str] = []
        from meshworks.constructs.mesh.loader import validate_paths

        problems = [str(p) for p in validate_paths([path])]
        code = main(["validate", str(path)])
    return code, problems


def _assert_clean_failure(code: int, problems: list[str]) -> None:
    assert code == 1
    assert problems
    assert all(PROBLEM_LINE.match(line) for line in problems), problems


@FUZZ
@given(st.binary(max_size=400))
def test_garbage_bytes(content: bytes) -> None:
    _assert_clean_failure(*_run_on(content))


@FUZZ
@given(st.text(max_size=400))
def test_garbage_text(content: str) -> None:
    _assert_clean_failure(*_run_on(content.encode("utf-8", "surrogatepass")))


_YAMLISH = st.text(alphabet=":-[]{}#&*!|>'\"%@`,? \n\tabcname01", max_size=200)


@FUZZ
@given(_YAMLISH)
def test_yaml_punctuation_soup(content: str) -> None:
    _assert_clean_failure(*_run_on(content.encode()))


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.dates(),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
_BASE: dict[str, Any] = yaml.safe_load((CONTRACTS / "sales" / "orders.yaml").read_text(encoding="utf-8"))


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from([*_BASE, "columns.0", "slo.cron", "contact.email", "bogus"]), _VALUES, min_size=1, max_size=4
    )
)
def test_mutated_contracts(changes: dict[str, Any]) -> None:
    data = json.loads(json.dumps(_BASE))
    for key, value in changes.items():
        head, _, tail = key.partition(".")
        if tail and isinstance(data.get(head), dict):
            data[head][tail] = value
        elif tail and isinstance(data.get(head), list) and data[head]:
            data[head][0] = value
        else:
            data[head] = value
    content = yaml.safe_dump(data, allow_unicode=True).encode()
    code, problems = _run_on(content)
    assert code in (0, 1)
    if code == 1:
        _assert_clean_failure(code, problems)


def test_validation_does_not_import_the_cdk() -> None:
    """The CLI and ``load_contracts`` stay light: no aws_cdk import (it starts a Node.js process)."""
    code = (
        "import sys; from meshworks.constructs.mesh import load_contracts; import meshworks.stacks.cli; "
        f"load_contracts([{str(CONTRACTS)!r}]); print('aws_cdk' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout == "False\n"
