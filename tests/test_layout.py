"""Layout guard: the CDK's `constructs` package is never shadowed; the wheel holds only `meshworks/`;
the README's "own CDK app" example runs outside the repository against the built wheel."""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.harness import ROOT


def test_import_constructs_is_the_cdk_package() -> None:
    import constructs

    assert "site-packages" in Path(constructs.__file__).parts, constructs.__file__
    assert importlib.import_module("constructs._jsii")


def test_mapped_folders_have_no_init() -> None:
    for folder in ("constructs", "stacks", "lambdas"):
        assert (ROOT / folder).is_dir()
        assert not (ROOT / folder / "__init__.py").exists(), f"{folder}/__init__.py would shadow packages"


def test_library_imports_under_meshworks() -> None:
    from meshworks.constructs.storage import SecureBucket
    from meshworks.stacks.config import PlatformConfig

    assert SecureBucket.__module__ == "meshworks.constructs.storage.secure_bucket"
    assert PlatformConfig.__module__ == "meshworks.stacks.config"


def test_python_app_py_from_root_keeps_the_cdk_constructs() -> None:
    """Running from the repository root (root on sys.path) still imports the CDK's package."""
    code = "import sys; sys.path.insert(0, '.'); import constructs; import constructs._jsii; print(constructs.__file__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "site-packages" in out.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("dist")
    shutil.rmtree(ROOT / "build", ignore_errors=True)  # setuptools never prunes build/lib: stale modules would ship
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(outdir), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = outdir.glob("meshworks-*.whl")
    return built


def test_wheel_holds_only_meshworks_with_lambda_code(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"meshworks"}
    assert "meshworks/lambdas/mesh_notifier/handler.py" in names
    assert "meshworks/constructs/storage/secure_bucket.py" in names
    assert not [n for n in names if n.endswith(".pyc") or "__pycache__" in n]


def _readme_example() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Use meshworks in your own CDK app", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_example_runs_outside_the_repo_against_the_wheel(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    script = workdir / "app.py"
    probe = "\nimport meshworks.constructs.storage as _m; print('FROM', _m.__file__)\n"
    script.write_text(_readme_example() + probe)
    env = {**os.environ, "PYTHONPATH": str(site), "CDK_OUTDIR": str(workdir / "cdk.out")}
    result = subprocess.run([sys.executable, str(script)], cwd=workdir, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"FROM {site}" in result.stdout, result.stdout
    assert (workdir / "cdk.out" / "Analytics.template.json").exists()
