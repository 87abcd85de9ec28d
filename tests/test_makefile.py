"""`make diff` / `make deploy` select stacks the way the CDK CLI does (by stack id) and pass only options it has."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.harness import ROOT, SynthesizedPlatform


def _dry_run(*args: str) -> subprocess.CompletedProcess[str]:
    # -o: treat the install targets as up to date, so a dry run prints only the CDK command.
    return subprocess.run(
        ["make", "-n", "-o", "install", "-o", ".venv/.installed", "-o", "node_modules/.installed", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _cdk_line(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if "/cdk " in x)
    return line.split()[1:]


def _cli_options(command: str) -> set[str]:
    out = subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "cdk"), command, "--help"], capture_output=True, text=True, timeout=60
    ).stdout
    return set(re.findall(r"(--[a-z][a-z-]+)", out))


@pytest.mark.parametrize("target", ["diff", "deploy"])
def test_every_option_make_passes_exists_in_the_pinned_cli(target: str) -> None:
    words = _cdk_line(_dry_run(target, "CONTEXT=-c meshworks.prefix=acme"))
    options = {w for w in words if w.startswith("--")}
    assert options <= _cli_options(target), options - _cli_options(target)
    assert words[0] == target and words[-2:] == ["-c", "meshworks.prefix=acme"]


def test_stacks_are_passed_as_ids_and_default_to_every_stack() -> None:
    assert _cdk_line(_dry_run("deploy", "STACKS=Foundation Spark"))[:3] == ["deploy", "Foundation", "Spark"]
    assert "--all" in _cdk_line(_dry_run("deploy"))
    assert _cdk_line(_dry_run("diff")) == ["diff"]  # `cdk diff` without a selection diffs every stack


def test_a_stack_name_instead_of_an_id_is_refused_with_the_fix() -> None:
    result = _dry_run("deploy", "STACKS=meshworks-demo-foundation")
    assert result.returncode != 0
    assert "STACKS=meshworks-demo-foundation: give stack ids" in result.stderr
    assert "STACKS=Foundation" in result.stderr


def test_readme_stack_ids_and_example_select_real_stacks(platform: SynthesizedPlatform) -> None:
    readme = (ROOT / "README.md").read_text()
    ids = set(platform.templates)
    assert "make deploy STACKS=Foundation" in readme and "Foundation" in ids
    listed = re.search(r"use their ids, which `cdk ls` prints before\s+the stack name: (.*?)\(globs", readme, re.S)
    assert listed is not None
    for pattern in re.findall(r"`([A-Za-z<>-]+)`", listed.group(1)):
        regex = re.sub(r"<[a-z]+>", "[a-z0-9]+", pattern)
        assert any(re.fullmatch(regex, i) for i in ids), f"README lists stack id {pattern!r}; ids are {sorted(ids)}"
    assert "STACKS=meshworks-demo-" not in readme


def test_cdk_selects_by_id_not_by_stack_name(platform: SynthesizedPlatform) -> None:
    """The CLI behaviour the Makefile relies on, checked with the pinned CLI on the session's assembly."""
    cli = str(ROOT / "node_modules" / ".bin" / "cdk")

    def ls(pattern: str) -> str:
        return subprocess.run(
            [cli, "ls", "--no-notices", "--app", str(platform.outdir), pattern],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        ).stdout

    assert "Foundation" in ls("Foundation")
    assert "Foundation" not in ls(f"{platform.config.prefix}-foundation")


@pytest.mark.parametrize("target", ["synth", "validate"])
def test_synth_passes_the_context_overrides(target: str) -> None:
    """`make synth CONTEXT='-c …'` synthesizes with the overrides (it ignored them: the user saw the default app)."""
    words = _cdk_line(_dry_run(target, "CONTEXT=-c meshworks.orchestration.pipelines.enabled=false"))
    assert words[words.index("meshworks.orchestration.pipelines.enabled=false") - 1] == "-c"


def test_make_writes_the_bytecode_cache_even_where_the_environment_forbids_it() -> None:
    """CI machines set PYTHONDONTWRITEBYTECODE: without pycs every synth recompiles the package (~0.1 s)."""
    import os

    probe = subprocess.run(
        ["make", "-s", "--eval", "probe:\n\t@echo \"[$${PYTHONDONTWRITEBYTECODE-unset}]\"", "probe"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "[unset]"
