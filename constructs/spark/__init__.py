"""Spark on AWS: configuration models (and, alongside, the Spark constructs).

``from meshworks.constructs.spark import JobCatalog, SparkJob, SparkLimits``
"""

from .models import (
    DEFAULT_EMR_SERVERLESS_RELEASE,
    DEFAULT_GRAVITON_INSTANCE_TYPES,
    ROUTING_DOCUMENT_VERSION,
    Architecture,
    EmrServerlessDefaults,
    Engine,
    InstanceFleetSpec,
    InstanceTypeWeight,
    JobCatalog,
    JobClass,
    ManagedScaling,
    OnDemandAllocationStrategy,
    Ring,
    ScalingUnitType,
    ServerlessMaximumCapacity,
    SparkJob,
    SparkLimits,
    SpotAllocationStrategy,
    SpotTimeoutAction,
    routing_parameter_name,
)

__all__ = [
    "DEFAULT_EMR_SERVERLESS_RELEASE",
    "DEFAULT_GRAVITON_INSTANCE_TYPES",
    "ROUTING_DOCUMENT_VERSION",
    "Architecture",
    "EmrServerlessDefaults",
    "Engine",
    "InstanceFleetSpec",
    "InstanceTypeWeight",
    "JobCatalog",
    "JobClass",
    "ManagedScaling",
    "OnDemandAllocationStrategy",
    "Ring",
    "ScalingUnitType",
    "ServerlessMaximumCapacity",
    "SparkJob",
    "SparkLimits",
    "SpotAllocationStrategy",
    "SpotTimeoutAction",
    "routing_parameter_name",
]
