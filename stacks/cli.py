"""The ``meshworks`` command line.

``meshworks validate PATH...`` checks data-product contracts (files, or directories searched for
``*.yaml``/``*.yml``) against the platform's trust configuration (``--config``, default ``cdk.json``:
its ``mesh.domains`` domain map and ``environments.consumers`` allowlist) and prints every problem as
``file:line: field: message``.
``meshworks schema`` prints the JSON Schema of a contract (``--output FILE`` writes it).
``meshworks plan --base REF`` synthesizes the app at git revision REF and in the working tree and
prints, per stack, the resources added, modified, removed and replaced (with the create-only property
that forces each replacement); see :mod:`meshworks.stacks.change_plan`. It exits 1 when a stateful or
access-granting resource is replaced or removed without an acknowledgement.

``meshworks shards`` records every new data product's stack in the shard lock (``--check``: only
report, exit 1 if the lock is not current, for CI).

``meshworks producer-policy --domain D`` prints, as JSON, the bucket policies and key-policy
statements the producer of domain ``D`` applies so the hub's roles can use its buckets and keys
(from ``cdk.json`` and the contracts; see docs/mesh.md "Producer prerequisites").

Exit codes: 0 all contracts pass (plan: nothing blocks), 1 problems found (plan: an unacknowledged
blocking change), 2 usage error (bad option, missing path, missing or invalid configuration; plan: unknown
ref, bad acknowledgement file, a revision that fails to synthesize), 3 internal error. A traceback is
never printed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from meshworks.constructs.mesh.trust import MeshTrust

__all__ = ["main"]

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


class _UsageError(Exception):
    """A usage problem reported as ``meshworks: error: ...`` with exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse parser that raises instead of exiting, so ``main()`` can return the code."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{message}\n{self.format_usage().strip()}")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="meshworks", description="meshworks data-platform tools.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    validate = commands.add_parser(
        "validate",
        help="check data-product contracts",
        description="Check data-product contracts and report every problem as file:line: field: message.",
    )
    validate.add_argument("paths", nargs="+", metavar="PATH", help="contract file, or directory to search")
    validate.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        default=Path("cdk.json"),
        help="cdk.json whose context.meshworks holds mesh.domains and environments.consumers (default: cdk.json)",
    )
    validate.add_argument(
        "--datasets",
        metavar="PATH",
        action="append",
        type=Path,
        help="dataset file or folder, checked too and its product reviewed with the contracts (repeatable; "
        "default: the configuration's ingestion.datasets_path when it exists)",
    )
    validate.add_argument(
        "--format",
        choices=("text", "github"),
        default="text",
        help="'github' also prints GitHub Actions annotations on stdout (default: text)",
    )

    plan = commands.add_parser(
        "plan",
        help="classify the change from a git revision to the working tree (added/modified/removed/replaced)",
        description="Synthesize the app at --base and in the working tree (offline) and classify every resource "
        "change with the CloudFormation resource schemas. Exit 1 if a stateful or access-granting resource is "
        "replaced or removed without an acknowledgement.",
    )
    source = plan.add_mutually_exclusive_group(required=True)
    source.add_argument("--base", metavar="REF", help="git revision to compare with (e.g. origin/main)")
    source.add_argument("--base-assembly", metavar="DIR", type=Path, help="an already synthesized cdk.out to compare")
    plan.add_argument("--head-assembly", metavar="DIR", type=Path, help="compare this cdk.out instead of synthesizing")
    plan.add_argument("--repo", metavar="DIR", type=Path, default=Path("."), help="the repository (default: .)")
    plan.add_argument(
        "--allow",
        metavar="STACK/LOGICAL_ID",
        action="append",
        default=[],
        help="acknowledge a replacement or removal (fnmatch patterns; repeatable)",
    )
    plan.add_argument(
        "--acknowledgements",
        metavar="FILE",
        type=Path,
        help="YAML list of {resource, reason} (default: plan-acknowledgements.yml in the repository)",
    )
    plan.add_argument("--output", metavar="FILE", type=Path, help="also append the Markdown report to FILE")

    schema = commands.add_parser("schema", help="print the JSON Schema of a contract file")
    schema.add_argument("--output", metavar="FILE", type=Path, help="write the schema to FILE instead")
    producer = commands.add_parser(
        "producer-policy",
        help="print the bucket and key policy statements a producer applies",
        description="Print (JSON) the bucket policies and KMS key-policy statements the producer of a domain "
        "applies so the hub's Lake Formation, notifier and SLO sweeper roles can use its buckets and keys.",
    )
    producer.add_argument("--domain", required=True, help="the producer's domain, e.g. sales")
    producer.add_argument("--config", type=Path, default=Path("cdk.json"), help="cdk.json (default: ./cdk.json)")
    shards = commands.add_parser(
        "shards",
        help="record the stack of every new data product in the shard lock",
        description="Place new data products (and consumer accounts) in the shard lock, keep every recorded "
        "entry, drop removed ones. Paths are relative to the app folder, as in cdk synth.",
    )
    shards.add_argument("--cdk-json", metavar="FILE", type=Path, default=Path("cdk.json"), help="default: cdk.json")
    shards.add_argument("--check", action="store_true", help="write nothing; exit 1 if the lock is not current")
    return parser


def _producer_policy(args: argparse.Namespace, out: TextIO) -> int:
    import json

    from meshworks.constructs.mesh.producer_policy import producer_policy
    from meshworks.stacks.config import ConfigError, load_cdk_json
    from meshworks.stacks.mesh_hub_stack import read_contracts

    if not args.config.exists():
        raise _UsageError(f"no such configuration file: {args.config}")
    try:
        config = load_cdk_json(args.config)
        contracts = read_contracts(config)
    except ConfigError as exc:
        raise _UsageError(str(exc)) from None
    domain = config.mesh.domains.get(args.domain)
    if domain is None:
        known = ", ".join(sorted(config.mesh.domains)) or "none"
        raise _UsageError(f"domain {args.domain!r} is not in mesh.domains of {args.config} (configured: {known})")
    locations = [c.location for c in contracts if c.domain == args.domain]
    locations += [location.rstrip("/") for location in domain.buckets]
    hub = config.environments.hub
    try:
        policy = producer_policy(
            hub_account=hub.account,
            name_prefix=config.prefix,
            region=hub.region,
            locations=sorted(set(locations)),
            kms_key_arns=list(domain.kms_key_arns),
        )
    except ValueError as exc:
        raise _UsageError(f"{args.config}: {exc}") from None
    json.dump({"domain": args.domain, **policy}, out, indent=2, sort_keys=True)
    out.write("\n")
    return EXIT_OK


def _shards(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from meshworks.stacks.config import ConfigError, load_cdk_json
    from meshworks.stacks.mesh_hub_stack import place_shards, read_contracts, read_shard_lock

    if not args.cdk_json.is_file():
        raise _UsageError(f"no such file: {args.cdk_json}")
    try:
        config = load_cdk_json(args.cdk_json)
        mesh = config.mesh
        contracts = read_contracts(config)
        old = read_shard_lock(mesh)
        new = place_shards(mesh, contracts, old)
    except ConfigError as exc:
        print(exc, file=err)
        return EXIT_PROBLEMS
    path = mesh.shard_lock_file()
    before = {(d, n): i for d, names in (old.products if old else {}).items() for n, i in names.items()}
    after = {(d, n): i for d, names in new.products.items() for n, i in names.items()}
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    for domain, name in added:
        print(f"  + {domain}/{name} -> mesh-products-{domain.replace('_', '-')}-{after[domain, name]:02d}", file=out)
    for domain, name in removed:
        print(f"  - {domain}/{name} (was in mesh-products-{domain.replace('_', '-')}-{before[domain, name]:02d})", file=out)
    current = old is not None and old.dumps() == new.dumps()
    stacks = len({(d, i) for (d, _), i in after.items()}) + len(set(new.consumers.values()))
    summary = f"{len(after)} data product(s) and {len(new.consumers)} consumer account(s) in {stacks} stack(s)"
    if args.check:
        if current:
            print(f"meshworks shards: {path} is current: {summary}", file=out)
            return EXIT_OK
        print(f"meshworks shards: {path} is not current: run `meshworks shards` and commit the lock", file=err)
        return EXIT_PROBLEMS
    if not current:
        try:
            path.write_text(new.dumps(), encoding="utf-8")
        except OSError as exc:
            raise _UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    verb = "unchanged" if current else f"written ({len(added)} placed, {len(removed)} removed)"
    print(f"meshworks shards: {path} {verb}: {summary}", file=out)
    return EXIT_OK


def _validate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from meshworks.constructs.mesh.loader import ContractError, load_contracts

    missing = [path for path in args.paths if not Path(path).exists()]
    if missing:
        raise _UsageError(f"no such file or directory: {', '.join(missing)}")
    trust = _read_trust(args.config)
    datasets, problems = _check_datasets(args)
    offline = _offline_product(args.config)
    try:
        extra = [item.loaded_contract for item in datasets if item.loaded_contract is not None] + offline
        contracts = load_contracts(args.paths, trust=trust, extra=extra)
    except ContractError as exc:
        from meshworks.constructs.ingestion.dataset_loader import relabel

        problems = sorted(set(problems) | set(relabel(exc.problems, {item.path for item in datasets})))
    if not problems:
        domains = len({contract.domain for contract in contracts})
        sources = [f"{len(datasets)} from dataset files"] if datasets else []
        sources += ["1 from feature_store.offline_product"] if offline else []
        of_datasets = f" ({', '.join(sources)})" if sources else ""
        print(
            f"meshworks validate: {len(contracts)} data product(s){of_datasets} in {domains} domain(s) passed validation",
            file=out,
        )
        return EXIT_OK
    for problem in problems:
        print(problem, file=err)
    if args.format == "github":
        for problem in problems:
            print(problem.github_annotation(), file=out)
    count = len(problems)
    files = len({problem.path for problem in problems})
    print(f"meshworks validate: {count} problem{'s' if count != 1 else ''} in {files} file(s)", file=err)
    return EXIT_PROBLEMS


def _check_datasets(args: argparse.Namespace) -> tuple[list, list]:
    """The dataset files of ``--datasets`` (default: ``ingestion.datasets_path`` of the configuration, if present)
    and their problems; a product's contract problems are reported at the dataset file's lines."""
    from meshworks.constructs.ingestion.dataset_loader import PLACEHOLDER_CURATED_BUCKET, check_datasets

    settings: dict = {}
    with contextlib.suppress(OSError, ValueError, AttributeError):
        settings = json.loads(args.config.read_text(encoding="utf-8"))["context"]["meshworks"]
    paths = args.datasets
    if paths is None:
        default = Path(str((settings.get("ingestion") or {}).get("datasets_path", "datasets")))
        enabled = (settings.get("ingestion") or {}).get("enabled", True) is not False
        paths = [default] if enabled and default.exists() else []
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        raise _UsageError(f"no such file or directory: {', '.join(missing)}")
    bucket, account = PLACEHOLDER_CURATED_BUCKET, None
    with contextlib.suppress(KeyError, TypeError):
        account = str(settings["environments"]["compute"]["account"])
        bucket = f"{settings['prefix']}-{account}-curated"
    if not paths:
        return [], []
    datasets, problems = check_datasets(paths, curated_bucket_name=bucket, producer_account=account)
    return datasets, problems


def _offline_product(path: Path) -> list:
    """The offline feature store's product (``feature_store.offline_product``) when the configuration at ``path``
    loads in full, so a contract repeating or overlapping it is found here too; otherwise none (its own problems
    are the synth's: ``read_contracts``)."""
    from meshworks.stacks.config import ConfigError, config_from_context
    from meshworks.stacks.features_stack import offline_store_contracts

    try:
        context = json.loads(path.read_text(encoding="utf-8"))["context"]
        return offline_store_contracts(config_from_context(context, source=str(path)))
    except (ConfigError, OSError, ValueError, KeyError, TypeError):
        return []


def _read_trust(path: Path) -> MeshTrust:
    """The domain map and consumer allowlist of the ``cdk.json`` at ``path`` (usage error if unusable)."""
    from meshworks.constructs.mesh.trust import TrustConfigError, trust_from_context

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _UsageError(
            f"cannot read the configuration {path}: {exc.strerror or exc}; pass --config with the cdk.json that "
            "holds meshworks.mesh.domains and meshworks.environments.consumers"
        ) from None
    except ValueError as exc:
        raise _UsageError(f"the configuration {path} is not JSON: {exc}") from None
    context = data.get("context") if isinstance(data, dict) else None
    if not isinstance(context, dict) or "meshworks" not in context:
        raise _UsageError(f"{path} has no context.meshworks object: pass --config with the platform's cdk.json")
    try:
        return trust_from_context(context["meshworks"], source=str(path))
    except TrustConfigError as exc:
        raise _UsageError(str(exc)) from None


def _schema(args: argparse.Namespace, out: TextIO) -> int:
    from meshworks.constructs.mesh.contract import render_json_schema

    text = render_json_schema()
    if args.output is None:
        out.write(text)
        return EXIT_OK
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise _UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    return EXIT_OK


def _plan(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import tempfile
    import time
    from concurrent.futures import ThreadPoolExecutor

    from meshworks.stacks import change_plan

    started = time.monotonic()
    repo = args.repo.resolve()
    try:
        acknowledgements = change_plan.Acknowledgements.load(
            args.acknowledgements or repo / change_plan.ACKNOWLEDGEMENTS_FILE
        )
        acknowledgements.add(args.allow)
        with tempfile.TemporaryDirectory(prefix="meshworks-plan-") as scratch:
            work = Path(scratch)
            if args.base_assembly is None:
                change_plan.export_revision(repo, args.base, work / "base")
            label = f"`{args.base}`" if args.base_assembly is None else str(args.base_assembly)
            with ThreadPoolExecutor(max_workers=2) as pool:  # the two synths run side by side
                base_job = pool.submit(
                    change_plan.read_assembly, args.base_assembly
                ) if args.base_assembly is not None else pool.submit(
                    change_plan.synthesize_revision, work / "base", work / "base.out"
                )  # fmt: skip
                head_job = pool.submit(
                    change_plan.read_assembly, args.head_assembly
                ) if args.head_assembly is not None else pool.submit(
                    change_plan.synthesize_revision, repo, work / "head.out"
                )  # fmt: skip
                base, head = base_job.result(), head_job.result()
        plans = change_plan.compare_assemblies(base, head)
    except change_plan.PlanError as exc:
        print(f"meshworks plan: {exc}", file=err)
        return EXIT_USAGE
    report = change_plan.render_markdown(plans, acknowledgements, title=f"meshworks plan: {label} -> working tree")
    out.write(report)
    if args.output is not None:
        with args.output.open("a", encoding="utf-8") as summary:
            summary.write(report)
    blocked = change_plan.blocking(plans, acknowledgements)
    print(
        f"meshworks plan: {len(blocked)} blocking change(s); {time.monotonic() - started:.1f} s",
        file=err,
    )
    return EXIT_PROBLEMS if blocked else EXIT_OK


def _prefer_pinned_node() -> None:
    """Commands that import the CDK (``shards``, ``producer-policy``, ``plan``) start jsii's Node.js: use the
    project's pinned Node 22 (``node_modules/.bin/node``, installed by ``make``) when it is there, as the
    Makefile does, instead of whatever ``node`` is first on ``PATH`` (jsii would print an end-of-life banner
    for Node 20). An explicit ``JSII_NODE`` wins."""
    pinned = Path("node_modules/.bin/node")
    if "JSII_NODE" not in os.environ and pinned.is_file():
        os.environ["JSII_NODE"] = str(pinned.resolve())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``); returns the exit code, never raises."""
    out, err = sys.stdout, sys.stderr
    _prefer_pinned_node()
    try:
        try:
            args = _build_parser().parse_args(argv)
        except SystemExit as exc:  # --help and --version exit through argparse
            return exc.code if isinstance(exc.code, int) else EXIT_OK
        if args.command == "validate":
            return _validate(args, out, err)
        if args.command == "plan":
            return _plan(args, out, err)
        if args.command == "producer-policy":
            return _producer_policy(args, out)
        if args.command == "shards":
            return _shards(args, out, err)
        return _schema(args, out)
    except _UsageError as exc:
        print(f"meshworks: error: {exc}", file=err)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the contract is: no traceback, ever
        print(f"meshworks: internal error (please report it): {type(exc).__name__}: {exc}", file=err)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
