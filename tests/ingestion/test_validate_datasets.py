"""``meshworks validate`` covers dataset files: their problems and their products' review with the contracts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from meshworks.stacks.cli import main
from tests.harness import ROOT


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_validate_counts_the_datasets_products(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code, out, err = _run(capsys, "validate", "contracts/")
    assert (code, err) == (0, "")
    assert "(1 from dataset files, " in out


def test_a_dataset_product_is_reviewed_with_the_contracts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = yaml.safe_load((ROOT / "datasets/clickstream/app_events.yml").read_text())
    data["product"]["consumers"] = ["999999999999"]  # not an allowed consumer of the mesh
    data["domain"] = "sales"
    data["name"] = "orders"  # already a contract
    datasets = tmp_path / "datasets" / "sales"
    datasets.mkdir(parents=True)
    (datasets / "orders.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    shutil.copy(ROOT / "cdk.json", tmp_path / "cdk.json")
    code, _, err = _run(capsys, "validate", str(ROOT / "contracts"), "--config", str(tmp_path / "cdk.json"),
                        "--datasets", str(tmp_path / "datasets"))
    assert code == 1
    lines = err.splitlines()
    assert any("orders.yml:" in line and ": product.consumers[0]: account 999999999999 is not an allowed consumer" in line
               for line in lines), err
    assert any("orders.yml:" in line and "data product 'sales.orders' is already defined in" in line for line in lines), err
    assert any("orders.yml:" in line and ": domain: location 's3://meshworks-demo-222222222222-curated/sales/orders/' "
               "is outside the locations of domain 'sales'" in line for line in lines), err
    # The compute account runs the ingestion and announces refreshes: the notifier would reject them at run time
    # from an account that is not one of the domain's producers, so the review refuses it now.
    assert any("orders.yml:" in line and ": domain: account 222222222222 is not a producer account of domain 'sales'"
               in line for line in lines), err
    assert "Traceback" not in err
