"""Data mesh: data-product contracts, their governance review and (in other modules) the hub constructs.

Exports are resolved lazily (PEP 562) so that ``meshworks validate`` and other light users of the
contract model never import ``aws_cdk`` (which starts a Node.js process). To export a construct from
here, add ``"Name": "module"`` to ``_EXPORTS``, the name to ``__all__`` and the import under
``TYPE_CHECKING``.

Example::

    from meshworks.constructs.mesh import ContractError, load_contracts

    contracts = load_contracts(["contracts/"])
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from meshworks.constructs.mesh.contract import (
        Classification,
        Column,
        Contact,
        DataFormat,
        DataProductContract,
        PiiCategory,
        Slo,
        parse_glue_type,
    )
    from meshworks.constructs.mesh.data_product import DataProduct, SharingMode
    from meshworks.constructs.mesh.data_product_catalog import (
        DataProductCatalog,
        ShardBudgetError,
        ShardLock,
        ShardLockError,
        ShardPlan,
        plan_shards,
    )
    from meshworks.constructs.mesh.loader import (
        ContractError,
        Problem,
        load_contracts,
        validate_paths,
    )
    from meshworks.constructs.mesh.mesh_hub import MeshHub
    from meshworks.constructs.mesh.review import Finding, review_contracts
    from meshworks.constructs.mesh.share_acceptor import ShareAcceptor
    from meshworks.constructs.mesh.spoke_product import SpokeProduct
    from meshworks.constructs.mesh.trust import MeshTrust, ProducerDomain

_EXPORTS: dict[str, str] = {
    # contract.py
    "Classification": "contract",
    "Column": "contract",
    "Contact": "contract",
    "DataFormat": "contract",
    "DataProductContract": "contract",
    "PiiCategory": "contract",
    "Slo": "contract",
    "parse_glue_type": "contract",
    # loader.py
    "ContractError": "loader",
    "Problem": "loader",
    "load_contracts": "loader",
    "validate_paths": "loader",
    # review.py
    "Finding": "review",
    "review_contracts": "review",
    # trust.py
    "MeshTrust": "trust",
    "ProducerDomain": "trust",
    # CDK constructs (importing them starts the CDK's Node.js process)
    "DataProduct": "data_product",
    "SharingMode": "data_product",
    "DataProductCatalog": "data_product_catalog",
    "ShardBudgetError": "data_product_catalog",
    "ShardLock": "data_product_catalog",
    "ShardLockError": "data_product_catalog",
    "ShardPlan": "data_product_catalog",
    "plan_shards": "data_product_catalog",
    "MeshHub": "mesh_hub",
    "ShareAcceptor": "share_acceptor",
    "SpokeProduct": "spoke_product",
}

__all__ = [
    "Classification",
    "Column",
    "Contact",
    "ContractError",
    "DataFormat",
    "DataProduct",
    "DataProductCatalog",
    "DataProductContract",
    "Finding",
    "MeshHub",
    "MeshTrust",
    "PiiCategory",
    "Problem",
    "ProducerDomain",
    "ShardBudgetError",
    "ShardLock",
    "ShardLockError",
    "ShardPlan",
    "ShareAcceptor",
    "SharingMode",
    "Slo",
    "SpokeProduct",
    "load_contracts",
    "parse_glue_type",
    "plan_shards",
    "review_contracts",
    "validate_paths",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
