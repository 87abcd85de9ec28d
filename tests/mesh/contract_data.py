"""Shared test data: the smallest valid data-product contract, as a mapping."""

from __future__ import annotations

from typing import Any


def minimal_contract(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "orders",
        "domain": "sales",
        "description": "Every confirmed web-shop order, one row per order line.",
        "owner": "sales-data",
        "contact": {"email": "sales-data@example.com", "slack_channel": "#sales-data"},
        "location": "s3://acme-sales-curated/orders/",
        "format": "parquet",
        "columns": [{"name": "order_id", "type": "bigint", "description": "Order number."}],
        "slo": {"cron": "0 6 * * *", "timezone": "UTC"},
        "classification": "internal",
    }
    data.update(overrides)
    return data
