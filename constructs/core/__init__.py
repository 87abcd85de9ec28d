"""Building blocks every meshworks construct uses: keys, log groups, functions, removal and nag rules."""

from .dead_letter_queue import DeadLetterQueue
from .lambda_code import LAMBDAS_ROOT, lambda_code
from .nag import acknowledge, acknowledge_grant, acknowledge_policies, add_policy_checks
from .offline import pin_availability_zones
from .platform_function import PlatformFunction
from .platform_key import PlatformKey
from .removal import REMOVE_DATA_ON_DESTROY, destroy_allowed, resolve_removal_policy
from .secure_log_group import SecureLogGroup

__all__ = [
    "LAMBDAS_ROOT",
    "DeadLetterQueue",
    "REMOVE_DATA_ON_DESTROY",
    "PlatformFunction",
    "PlatformKey",
    "SecureLogGroup",
    "acknowledge",
    "acknowledge_grant",
    "acknowledge_policies",
    "add_policy_checks",
    "destroy_allowed",
    "lambda_code",
    "pin_availability_zones",
    "resolve_removal_policy",
]
