"""Contract and dataset files are read exactly as strictly as ``yaml.safe_load`` (PyYAML's own parser) reads them.

The documented way to load a contract in Python is ``DataProductContract.model_validate(yaml.safe_load(text))``
(``contract.py``), so ``meshworks validate`` and the synth must refuse what it refuses. libyaml
(``yaml.CSafeLoader``) is ~9x faster but accepts each of these texts: a parser swap must keep this test green.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from meshworks.constructs.mesh.loader import read_yaml_mapping

REFUSED_BY_PYYAML = [
    "name: orders\t# a tab before a comment\n",  # trailing tab: common in hand-edited files
    "name:\torders\n",  # a tab after the colon
    "account: 01234567\t0123\n",
    "name\t: orders\n",
    "columns: [id,\tamount]\n",
    "columns: [id? , amount]\n",
    "name: orders\n\ufeff",  # a stray byte-order mark at the end
]


@pytest.mark.parametrize("text", REFUSED_BY_PYYAML)
def test_what_yaml_safe_load_refuses_is_refused_with_its_line(tmp_path: Path, text: str) -> None:
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load(text)
    path = tmp_path / "orders.yaml"
    path.write_text(text, encoding="utf-8")
    data, problems = read_yaml_mapping(path, "orders.yaml")
    assert data is None
    assert [(p.field, p.message.startswith("invalid YAML")) for p in problems] == [("(yaml)", True)]
