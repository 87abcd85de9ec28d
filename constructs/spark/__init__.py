"""Spark on AWS: configuration models and the Spark / Flink constructs.

``from meshworks.constructs.spark import JobCatalog, SparkJob, SparkLimits``
``from meshworks.constructs.spark import EmrServerlessApplication, SparkJobRole, SparkJobRunner, EmrCluster``
"""

# Constructs (one per module).
from .emr_cluster import BELCORP_FLEET_SCALING, DEFAULT_EMR_RELEASE, EmrCluster
from .emr_cluster_prerequisites import EmrClusterPrerequisites
from .emr_on_eks import DEFAULT_EKS_RELEASE, DEFAULT_POD_TEMPLATES, EmrOnEksVirtualCluster
from .emr_serverless_application import DEFAULT_APPLICATION_LIMITS, EmrServerlessApplication
from .flink_on_emr import FlinkOnEmr
from .job_rollout import JobRollout, rollout_parameter_name
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
from .settings import DataAccess, EmrClusterSettings, EmrOnEksSettings, FlinkSettings, TransientProfileSettings
from .spark_job_role import SparkJobRole
from .spark_job_runner import EMR_CONTAINERS_SYNC, EMR_SERVERLESS_SYNC, SparkJobRunner
from .transient_cluster_profile import TransientClusterProfile

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
    # settings (settings.py)
    "DataAccess",
    "EmrClusterSettings",
    "EmrOnEksSettings",
    "FlinkSettings",
    "TransientProfileSettings",
    # constructs
    "BELCORP_FLEET_SCALING",
    "DEFAULT_APPLICATION_LIMITS",
    "DEFAULT_EKS_RELEASE",
    "DEFAULT_EMR_RELEASE",
    "DEFAULT_POD_TEMPLATES",
    "EMR_CONTAINERS_SYNC",
    "EMR_SERVERLESS_SYNC",
    "EmrCluster",
    "EmrClusterPrerequisites",
    "EmrOnEksVirtualCluster",
    "EmrServerlessApplication",
    "FlinkOnEmr",
    "JobRollout",
    "SparkJobRole",
    "SparkJobRunner",
    "TransientClusterProfile",
    "rollout_parameter_name",
]
