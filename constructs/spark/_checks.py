"""Input checks shared by the Spark constructs: plain Python, run before any CDK (jsii) call.

Every check raises ``ValueError`` with one message that names the construct, the argument, the bad
value and the fix, so a wrong input never surfaces as a jsii traceback from deep inside the CDK.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from aws_cdk import Annotations, Token
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from .models import (
    DEFAULT_EMR_SERVERLESS_RELEASE,
    InstanceFleetSpec,
    ManagedScaling,
    ScalingUnitType,
)

_RELEASE = re.compile(r"^emr-(\d+)\.(\d+)\.(\d+)$")
_AMI = re.compile(r"^ami-[0-9a-f]{8,17}$")
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
_CIDR = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})/(\d{1,2})$")


def fail(owner: str, message: str) -> ValueError:
    """A ``ValueError`` prefixed with the construct's class name."""
    return ValueError(f"{owner}: {message}")


def is_token(value: object) -> bool:
    """True for an unresolved CDK token (checked at deploy time instead of synth time)."""
    return isinstance(value, str) and Token.is_unresolved(value)


def check_release_label(owner: str, release_label: str, *, minimum: tuple[int, int, int] = (7, 0, 0)) -> str:
    """An ``emr-X.Y.Z`` label at least ``minimum``; returns it stripped."""
    text = str(release_label).strip()
    match = _RELEASE.match(text)
    hint = f"use e.g. '{DEFAULT_EMR_SERVERLESS_RELEASE}'"
    if not match:
        raise fail(owner, f"release_label {release_label!r} is not an EMR release label: {hint}")
    version = tuple(int(part) for part in match.groups())
    if version < minimum:
        floor = "emr-" + ".".join(map(str, minimum))
        raise fail(owner, f"release_label {release_label!r} is older than {floor}, the oldest this construct supports: {hint}")
    return text


def check_name(owner: str, field: str, value: str, pattern: str, example: str, max_length: int) -> str:
    """``value`` must match ``pattern`` and be at most ``max_length`` characters."""
    if is_token(value):
        return value
    if not isinstance(value, str) or not value or len(value) > max_length or not re.fullmatch(pattern, value):
        raise fail(
            owner,
            f"{field} {value!r} is invalid: use 1 to {max_length} characters matching {pattern}, e.g. {example!r}",
        )
    return value


def check_role_name(owner: str, field: str, value: str) -> str:
    """An IAM role name: 1..64 of letters, digits and ``+=,.@_-``."""
    if not isinstance(value, str) or not _ROLE_NAME.match(value):
        raise fail(
            owner,
            f"{field} {value!r} is not an IAM role name: use 1 to 64 letters, digits or '+=,.@_-', "
            "e.g. 'acme-emr-eks-jobs'",
        )
    return value


def check_ami(owner: str, ami_id: str | None) -> str | None:
    """``None`` or ``ami-<hex>``."""
    if ami_id is None or is_token(ami_id):
        return ami_id
    if not _AMI.match(ami_id):
        raise fail(owner, f"custom_ami_id {ami_id!r} is not an AMI id: use 'ami-' and 8 or 17 hex digits, e.g. 'ami-0abcdef1234567890'")
    return ami_id


def check_cidrs(owner: str, field: str, cidrs: Sequence[str]) -> list[str]:
    """IPv4 CIDR blocks, none of them open to the internet."""
    result = []
    for cidr in cidrs:
        match = _CIDR.match(str(cidr))
        if not match or any(int(octet) > 255 for octet in match.groups()[:4]) or int(match.group(5)) > 32:
            raise fail(owner, f"{field} entry {cidr!r} is not an IPv4 CIDR block: use e.g. '10.40.0.0/16'")
        if int(match.group(5)) == 0:
            raise fail(owner, f"{field} entry {cidr!r} opens the port to the whole internet: list your networks instead")
        result.append(str(cidr))
    return result


def check_range(owner: str, field: str, value: int | None, low: int, high: int, unit: str = "") -> int | None:
    """``None`` or an int in ``[low, high]``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        suffix = f" {unit}" if unit else ""
        raise fail(owner, f"{field} {value!r} is out of range: use a whole number from {low} to {high}{suffix}")
    return value


def select_private_subnets(
    owner: str, vpc: ec2.IVpc, subnets: ec2.SubnetSelection | None, *, minimum_azs: int = 2
) -> ec2.SelectedSubnets:
    """The chosen subnets (default: the VPC's private ones), which must span ``minimum_azs`` AZs."""
    if subnets is None:
        subnet_type = ec2.SubnetType.PRIVATE_WITH_EGRESS if vpc.private_subnets else ec2.SubnetType.PRIVATE_ISOLATED
        subnets = ec2.SubnetSelection(subnet_type=subnet_type)
    try:
        selected = vpc.select_subnets(subnet_type=subnets.subnet_type, subnet_group_name=subnets.subnet_group_name,
                                      subnets=subnets.subnets, availability_zones=subnets.availability_zones,
                                      one_per_az=subnets.one_per_az, subnet_filters=subnets.subnet_filters)
    except Exception as error:  # jsii raises RuntimeError with the CDK's own message
        raise fail(owner, f"cannot select the subnets: {str(error).splitlines()[0]}") from None
    zones = [az for az in selected.availability_zones if not is_token(az)]
    if not selected.subnet_ids:
        raise fail(owner, "the subnet selection matched no subnet: pass private subnets of the VPC")
    if len(zones) == len(selected.availability_zones) and len(set(zones)) < minimum_azs:
        raise fail(
            owner,
            f"the selected subnets span {len(set(zones))} availability zone(s) ({', '.join(sorted(set(zones)))}); "
            f"at least {minimum_azs} are needed so that capacity survives the loss of one AZ: select subnets in more AZs",
        )
    return selected


def check_fleet_scaling(
    owner: str,
    *,
    master: InstanceFleetSpec,
    core: InstanceFleetSpec,
    task: InstanceFleetSpec | None,
    scaling: ManagedScaling | None,
) -> None:
    """Instance fleets and managed scaling that EMR accepts together."""
    if master.total_target != 1:
        raise fail(owner, f"master_fleet targets {master.total_target} units; an EMR master fleet has exactly 1 instance: set on_demand_target=1, spot_target=0")
    if len(master.instance_types) > 5:
        raise fail(owner, f"master_fleet lists {len(master.instance_types)} instance types; EMR allows at most 5 for the master fleet")
    if scaling is None:
        return
    if scaling.unit_type is not ScalingUnitType.INSTANCE_FLEET_UNITS:
        raise fail(
            owner,
            f"managed_scaling.unit_type is {scaling.unit_type.value!r}, but clusters with instance fleets count scaling "
            "limits in InstanceFleetUnits (Instances and VCPU apply to instance groups): use "
            "ManagedScaling(..., unit_type='InstanceFleetUnits'), e.g. "
            "ManagedScaling.belcorp().model_copy(update={'unit_type': 'InstanceFleetUnits'})",
        )
    core_cap = scaling.core_units
    if core.total_target > core_cap:
        raise fail(owner, f"core_fleet targets {core.total_target} units, above managed_scaling's core limit of {core_cap}: lower the core targets or raise maximum_core_capacity_units")
    on_demand = core.on_demand_target + (task.on_demand_target if task else 0)
    if scaling.maximum_on_demand_capacity_units is not None and on_demand > scaling.maximum_on_demand_capacity_units:
        raise fail(owner, f"core + task fleets start with {on_demand} On-Demand units, above managed_scaling.maximum_on_demand_capacity_units ({scaling.maximum_on_demand_capacity_units}): move units to Spot or raise the limit")
    initial = core.total_target + (task.total_target if task else 0)
    if initial > scaling.maximum_capacity_units:
        raise fail(owner, f"core + task fleets target {initial} units, above managed_scaling.maximum_capacity_units ({scaling.maximum_capacity_units}): lower the targets or raise the maximum")


def annotate_warnings(scope: Construct, notes: Iterable[str], code: str) -> None:
    """Show advice (``warnings()`` of the models) as synth warnings on ``scope``."""
    for note in notes:
        Annotations.of(scope).add_warning_v2(f"meshworks:{code}", note)


#: Where EMR nodes and EMR Serverless workers may open HTTPS connections by default: anywhere, i.e. AWS public
#: endpoints through the NAT gateway for services without an interface endpoint, the S3/DynamoDB gateway
#: endpoints (their prefix lists) and the interface endpoints. Restrict it with the VPC CIDR plus the S3 gateway
#: endpoint's prefix list when every service the jobs call has an endpoint.
DEFAULT_HTTPS_EGRESS_CIDRS: tuple[str, ...] = ("0.0.0.0/0",)


def https_egress_peers(owner: str, cidrs: Sequence[str], prefix_list_ids: Sequence[str] = ()) -> list[ec2.IPeer]:
    """``ec2.Peer``s for HTTPS egress: IPv4 CIDR blocks and managed prefix lists (e.g. the S3 gateway endpoint's)."""
    import ipaddress

    peers: list[ec2.IPeer] = []
    for cidr in cidrs:
        try:
            ipaddress.IPv4Network(str(cidr), strict=True)
        except ValueError:
            raise fail(owner, f"https_egress_cidrs entry {cidr!r} is not an IPv4 CIDR block: use e.g. '10.40.0.0/16'") from None
        peers.append(ec2.Peer.any_ipv4() if str(cidr) == "0.0.0.0/0" else ec2.Peer.ipv4(str(cidr)))
    for prefix_list in prefix_list_ids:
        if not re.fullmatch(r"pl-[0-9a-f]{8,17}", str(prefix_list)):
            raise fail(owner, f"https_egress_prefix_list_ids entry {prefix_list!r} is not a prefix list id: use e.g. 'pl-6ea54007'")
        peers.append(ec2.Peer.prefix_list(str(prefix_list)))
    if not peers:
        raise fail(
            owner, "https_egress_cidrs and https_egress_prefix_list_ids are both empty: the nodes could not reach S3 or "
            "the EMR service; give at least the VPC CIDR and the S3 gateway endpoint's prefix list"
        )
    return peers
