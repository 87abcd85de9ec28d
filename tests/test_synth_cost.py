"""What the reference synth costs, counted, never timed (issue 15): jsii round trips per CloudFormation resource.

Building constructs is most of `make synth` (benchmarks/RESULTS.md): every Python call into aws-cdk-lib is a
request to the jsii Node kernel and back. The session's synthesis of the reference app counts them
(``tests/harness.py``); the budget is per resource, so it holds as stacks are added and catches a construct that
asks jsii for what it already knows (a context flag read per product, a token check on a literal, a policy
resolved once per acknowledging scope: each was found this way and cost 10-60 % of its stack's build).
"""

from __future__ import annotations

from tests.harness import SynthesizedPlatform

#: 4,965 requests for 625 resources (7.9 each) on 2026-12-01. Raise it only with the benchmark figure that
#: justifies it (benchmarks/synth_bench.py --phases) in benchmarks/RESULTS.md.
ROUND_TRIPS_PER_RESOURCE = 8.5


def test_the_reference_synth_stays_within_its_round_trip_budget(platform: SynthesizedPlatform) -> None:
    resources = len(platform.resources())
    total = sum(platform.round_trips.values())
    assert resources > 500 and total > 0, (resources, platform.round_trips)  # the count was taken
    assert total / resources <= ROUND_TRIPS_PER_RESOURCE, (
        f"{total} jsii requests for {resources} resources ({total / resources:.2f} each, budget "
        f"{ROUND_TRIPS_PER_RESOURCE}): {platform.round_trips}. Count the new ones by call site "
        "(tests/jsii_calls.round_trips around the construct) and remove what asks jsii for a value Python has."
    )
