"""Constants shared by the sweeper's modules (table keys, batch limits, the DynamoDB (de)serializers).

Part of :mod:`.checker` (the design is described there; it re-exports every name).
"""

from __future__ import annotations

import logging
from datetime import timezone

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

LOG = logging.getLogger(__name__.rsplit(".", 1)[0] + ".checker")  # the logger name it had before the split
UTC = timezone.utc

DEFAULT_PARTITION_TEMPLATE = "dt={date:%Y-%m-%d}"
#: Delivery-table sort key of a product's newest delivery (unpartitioned products).
LATEST_PERIOD_KEY = "latest"
#: Breach-table partition of the alert outbox: one item per alert written but not yet known sent.
OUTBOX_KEY = "#outbox"
BATCH_GET_LIMIT = 100
METRIC_BATCH_LIMIT = 1000
_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()
