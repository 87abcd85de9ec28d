"""The statements a producer account applies so the hub can work with its bucket and KMS key.

A producer's bucket in another account, or encrypted with a KMS key, only works with the mesh when
the producer's own policies admit the hub's roles (an identity policy in the hub account is not
enough across accounts, and a key policy must always allow its callers). The roles have
deterministic names (:func:`~meshworks.constructs.mesh.mesh_hub.role_names`), so the statements can be
generated before anything is deployed:

- **bucket policy** (per bucket): Lake Formation's data-access role reads the product prefixes;
  the notifier writes ``_SUCCESS`` markers there; the SLO sweeper reads them; both list the
  prefixes (so a missing marker reads as 404, not 403).
- **key policy** statements (per key): the data-access role decrypts and the notifier encrypts
  markers, both only through S3 in the hub's region.

A pure function: feed it from the configuration (``meshworks producer-policy --domain <d>``
reads ``cdk.json`` and the contracts) or from any other source of locations and keys.

Example::

    from meshworks.constructs.mesh.producer_policy import producer_policy

    key_arn = "arn:aws:kms:eu-west-1:444455556666:key/00000000-0000-4000-8000-444455556666"
    policy = producer_policy(hub_account="111111111111", name_prefix="acme", region="eu-west-1",
                             locations=["s3://acme-sales-curated/orders/"], kms_key_arns=[key_arn])
    policy["bucket_policies"]["acme-sales-curated"]   # {"Version": ..., "Statement": [...]}
    policy["key_policy_statements"]                    # add to each key's policy
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from meshworks.constructs.core.inputs import account_ids, string_list
from meshworks.constructs.mesh.mesh_hub import role_names

__all__ = ["producer_policy"]

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def _split(location: str) -> tuple[str, str]:
    """``s3://bucket/a/b/`` -> ``("bucket", "a/b")``; raises ``ValueError`` naming the bad location."""
    if not location.startswith("s3://"):
        raise ValueError(f"location {location!r} must be an s3://bucket/prefix/ URI")
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    prefix = prefix.strip("/")
    if not _BUCKET_RE.match(bucket):
        raise ValueError(f"location {location!r}: {bucket!r} is not a valid bucket name")
    if any(part in ("", ".", "..") or "*" in part or "?" in part for part in prefix.split("/") if prefix):
        raise ValueError(f"location {location!r}: no empty, '.', '..' or glob segments in the prefix")
    return bucket, prefix


def producer_policy(
    *,
    hub_account: str,
    name_prefix: str,
    region: str,
    locations: Sequence[str],
    kms_key_arns: Sequence[str] = (),
    partition: str = "aws",
) -> dict[str, Any]:
    """Bucket policies (per bucket) and key-policy statements a producer applies for the hub.

    Args:
        hub_account: the hub (governance) account.
        name_prefix: the platform prefix (``meshworks.prefix``): the roles are ``<prefix>-lf-data-access``,
            ``<prefix>-mesh-notifier`` and ``<prefix>-slo-sweeper`` in the hub account.
        region: the hub's region (the keys are used through S3 there).
        locations: ``s3://bucket/prefix/`` of the producer's products (a bare bucket means all of it).
        kms_key_arns: the producer's keys encrypting those buckets. Default: none (SSE-S3).
        partition: Default: "aws".

    Returns:
        ``{"bucket_policies": {bucket: policy document}, "key_policy_statements": [statement],
        "kms_key_arns": [...], "roles": {...}, "notes": [...]}`` (JSON-ready).

    Raises:
        ValueError: a location that is not ``s3://bucket/prefix/`` (names it and the rule).
    """
    locations = string_list("producer_policy", "locations", locations, example="s3://acme-sales/orders/")
    kms_key_arns = string_list("producer_policy", "kms_key_arns", kms_key_arns, example="arn:aws:kms:...:key/...")
    (hub_account,) = account_ids("producer_policy", "hub_account", [hub_account])
    roles = {name: f"arn:{partition}:iam::{hub_account}:role/{role}" for name, role in role_names(name_prefix).items()}
    prefixes: dict[str, set[str]] = {}
    for location in locations:
        bucket, prefix = _split(location)
        prefixes.setdefault(bucket, set()).add(prefix)
    bucket_policies: dict[str, Any] = {}
    for bucket, paths in sorted(prefixes.items()):
        objects = sorted(f"arn:{partition}:s3:::{bucket}/{p}/*" if p else f"arn:{partition}:s3:::{bucket}/*" for p in paths)
        markers = [arn + "_SUCCESS" for arn in objects]
        listing: dict[str, Any] = {
            "Sid": "MeshworksListProductPrefixes",
            "Effect": "Allow",
            "Principal": {"AWS": sorted({roles["data_access"], roles["slo_sweeper"]})},
            "Action": ["s3:ListBucket"],
            "Resource": f"arn:{partition}:s3:::{bucket}",
        }
        if "" not in paths:
            listing["Condition"] = {"StringLike": {"s3:prefix": sorted(f"{p}/*" for p in paths)}}
        bucket_policies[bucket] = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "MeshworksLakeFormationRead",
                    "Effect": "Allow",
                    "Principal": {"AWS": roles["data_access"]},
                    "Action": ["s3:GetObject"],
                    "Resource": objects,
                },
                {
                    "Sid": "MeshworksNotifierWritesSuccessMarkers",
                    "Effect": "Allow",
                    "Principal": {"AWS": roles["notifier"]},
                    "Action": ["s3:PutObject"],
                    "Resource": markers,
                },
                {
                    "Sid": "MeshworksSloSweeperReadsSuccessMarkers",
                    "Effect": "Allow",
                    "Principal": {"AWS": roles["slo_sweeper"]},
                    "Action": ["s3:GetObject"],
                    "Resource": markers,
                },
                listing,
            ],
        }
    via_s3 = {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}
    key_statements: list[dict[str, Any]] = []
    notes = [
        "Apply each bucket policy in the bucket's account (merge with its existing statements); keep Object "
        "Ownership 'bucket owner enforced' so markers written by the hub belong to the bucket owner."
    ]
    if kms_key_arns:
        key_statements = [
            {
                "Sid": "MeshworksLakeFormationDecrypt",
                "Effect": "Allow",
                "Principal": {"AWS": roles["data_access"]},
                "Action": ["kms:Decrypt"],
                "Resource": "*",
                "Condition": via_s3,
            },
            {
                "Sid": "MeshworksNotifierEncryptsMarkers",
                "Effect": "Allow",
                "Principal": {"AWS": roles["notifier"]},
                "Action": ["kms:GenerateDataKey"],
                "Resource": "*",
                "Condition": via_s3,
            },
        ]
        notes.append("Add the key policy statements to the policy of each key in kms_key_arns.")
    else:
        notes.insert(
            0,
            "No KMS keys given: if a bucket is SSE-KMS encrypted, list its key in mesh.producer_kms_key_arns "
            "and apply the key policy statements printed then.",
        )
    return {
        "bucket_policies": bucket_policies,
        "key_policy_statements": key_statements,
        "kms_key_arns": sorted(kms_key_arns),
        "roles": roles,
        "notes": notes,
    }
