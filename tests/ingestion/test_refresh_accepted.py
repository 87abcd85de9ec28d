"""The curation job's refresh events pass what the hub's notifier enforces (not only their shape).

The job announces each partition it wrote from the compute account; the notifier (``lambdas/mesh_notifier``)
parses the event, checks the sender against the product's ``meshworks:producer_account`` table parameter, types
the partition against the table's keys and derives the data folder. Before the dataset's product named the compute
account as its producer, the table parameter held the domain's only producer account instead and the notifier
rejected every refresh of a domain whose producer is not the compute account.
"""

from __future__ import annotations

import json

import pytest

from meshworks.constructs.ingestion.dataset_loader import load_datasets
from meshworks.constructs.ingestion.glue import curate_dataset as job
from meshworks.lambdas.mesh_notifier import core
from tests.harness import ROOT

COMPUTE = "222222222222"
BUS = "arn:aws:events:eu-west-1:111111111111:event-bus/meshworks-demo-mesh-refresh"


def _delivered(entry: dict, account: str) -> dict:
    """The event EventBridge delivers to the notifier for one ``PutEvents`` entry sent from ``account``."""
    return {"id": "1", "source": entry["Source"], "detail-type": entry["DetailType"], "account": account,
            "detail": json.loads(entry["Detail"])}


def _table() -> dict:
    [item] = load_datasets([ROOT / "datasets"], curated_bucket_name=f"meshworks-demo-{COMPUTE}-curated",
                           producer_account=COMPUTE)
    contract = item.contract
    assert contract is not None
    return {
        "DatabaseName": contract.database_name, "Name": contract.table_name,
        "Parameters": contract.glue_table_parameters(),
        "StorageDescriptor": {"Location": contract.location,
                              "Columns": [{"Name": c.name, "Type": c.type} for c in contract.columns]},
        "PartitionKeys": [{"Name": k.name, "Type": k.type} for k in contract.partition_keys],
    }


def test_the_notifier_accepts_the_jobs_refresh_and_finds_the_folder_spark_wrote() -> None:
    table = _table()
    [[entry]] = job.refresh_entries(BUS, "clickstream", "app_events", [{"dt": "2026-11-30"}])
    event = core.parse_event(_delivered(entry, COMPUTE))
    assert core.check_producer_account(event, table, allowed=()) == "table"
    info = core.table_info(table)
    typed = core.typed_event(info, event)
    # Spark's partitionBy("dt") writes <location>dt=2026-11-30/: the folder the notifier registers and marks.
    assert core.data_location(info, typed) == "s3://meshworks-demo-222222222222-curated/clickstream/app_events/dt=2026-11-30"


def test_a_refresh_from_another_account_is_rejected() -> None:
    [[entry]] = job.refresh_entries(BUS, "clickstream", "app_events", [{"dt": "2026-11-30"}])
    event = core.parse_event(_delivered(entry, "444444444444"))
    with pytest.raises(core.NonRetryableEventError, match=f"the product's producer account .* is {COMPUTE}"):
        core.check_producer_account(event, _table(), allowed=())
