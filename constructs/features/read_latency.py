"""Read-latency harness for an online feature table: N point reads at a target rate, concurrency C.

Open-loop pacing: read ``i`` is due at ``start + i / rate``; its latency is measured **from when it was due**, so
time spent queued behind slow reads counts (no coordinated omission). Reports p50/p90/p99/max in milliseconds
(nearest-rank percentiles), the achieved rate and errors by type.

DynamoDB from the command line (the endpoint can be a local fake, e.g. moto's server on loopback)::

    python -m meshworks.constructs.features.read_latency --table online-features --key-attribute entity_id \\
        --keys-file keys.txt --count 10000 --rate 2000 --concurrency 64 [--endpoint-url http://127.0.0.1:5000]

For Keyspaces, pass :func:`run_reads` a ``read(key)`` callable built on your Cassandra driver session with the
SigV4 plugin (a prepared ``SELECT ... WHERE pk = ?`` at LOCAL_QUORUM). SumUp reports single-digit-millisecond p99
at about 40,000 reads/s from Keyspaces; measure from the same Region and network path as the service.
"""

from __future__ import annotations

import argparse
import json
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class LatencyReport:
    """Figures of one run; latencies in milliseconds."""

    reads: int
    errors: dict[str, int] = field(default_factory=dict)
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    target_rate: float = 0.0
    achieved_rate: float = 0.0
    concurrency: int = 1

    def __str__(self) -> str:
        errors = ", ".join(f"{k}={v}" for k, v in sorted(self.errors.items())) or "none"
        return (f"{self.reads} reads at {self.achieved_rate:.0f}/s (target {self.target_rate:.0f}/s, concurrency "
                f"{self.concurrency}): p50 {self.p50_ms:.2f} ms, p90 {self.p90_ms:.2f} ms, p99 {self.p99_ms:.2f} ms, "
                f"max {self.max_ms:.2f} ms; errors: {errors}")


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of ascending values (``fraction`` in (0, 1]); 0.0 for no values."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def run_reads(
    read: Callable[[str], Any], keys: Sequence[str], *, count: int, rate_per_second: float, concurrency: int
) -> LatencyReport:
    """Issue ``count`` reads of ``keys`` (round robin) at ``rate_per_second`` with ``concurrency`` workers.

    Raises ValueError for a count, rate or concurrency below 1 or no keys. A read that raises counts as an error
    (by exception type, or the AWS error code when the exception carries one) and its latency is not recorded.
    """
    if count < 1 or rate_per_second <= 0 or concurrency < 1 or not keys:
        raise ValueError("count >= 1, rate_per_second > 0, concurrency >= 1 and at least one key are required")
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    lock = threading.Lock()
    start = time.perf_counter() + 0.01

    def one(index: int) -> None:
        due = start + index / rate_per_second
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        try:
            read(keys[index % len(keys)])
        except Exception as error:  # noqa: BLE001 - every failure is a counted result, not a crash
            code = getattr(error, "response", {}).get("Error", {}).get("Code") if hasattr(error, "response") else None
            with lock:
                errors[code or type(error).__name__] += 1
            return
        elapsed = (time.perf_counter() - due) * 1000
        with lock:
            latencies.append(elapsed)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, range(count)))
    duration = time.perf_counter() - start
    ordered = sorted(latencies)
    return LatencyReport(
        reads=count, errors=dict(errors), p50_ms=percentile(ordered, 0.50), p90_ms=percentile(ordered, 0.90),
        p99_ms=percentile(ordered, 0.99), max_ms=ordered[-1] if ordered else 0.0, target_rate=rate_per_second,
        achieved_rate=count / duration if duration > 0 else 0.0, concurrency=concurrency,
    )


def dynamodb_reader(
    table_name: str, key_attribute: str, *, endpoint_url: str | None = None, region: str | None = None,
    sort_key: tuple[str, str] | None = None,
) -> Callable[[str], Any]:
    """A ``read(key)`` doing one strongly-consistent-off ``GetItem`` (string key, optional fixed sort key)."""
    import boto3
    from botocore.config import Config

    client = boto3.client("dynamodb", endpoint_url=endpoint_url, region_name=region,
                          config=Config(retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=256))

    def read(key: str) -> Any:
        item_key = {key_attribute: {"S": key}}
        if sort_key is not None:
            item_key[sort_key[0]] = {"S": sort_key[1]}
        return client.get_item(TableName=table_name, Key=item_key)

    return read


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Point-read latency of a DynamoDB feature table.")
    parser.add_argument("--table", required=True)
    parser.add_argument("--key-attribute", default="entity_id")
    parser.add_argument("--sort-key", nargs=2, metavar=("ATTRIBUTE", "VALUE"))
    parser.add_argument("--keys-file", required=True, help="one key per line")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100.0, help="reads per second")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--endpoint-url")
    parser.add_argument("--region")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    with open(args.keys_file) as handle:
        keys = [line.strip() for line in handle if line.strip()]
    reader = dynamodb_reader(args.table, args.key_attribute, endpoint_url=args.endpoint_url, region=args.region,
                             sort_key=tuple(args.sort_key) if args.sort_key else None)
    try:
        report = run_reads(reader, keys, count=args.count, rate_per_second=args.rate, concurrency=args.concurrency)
    except ValueError as error:
        parser.error(str(error))
    print(json.dumps(asdict(report)) if args.json else report)
    return 1 if report.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
