"""ACL policies: parsing (HCL or JSON) and evaluation. Pure: no I/O, no storage."""

from awsbroker.policy.acl import ACL, Decision
from awsbroker.policy.builtin import DEFAULT_POLICY, DEFAULT_POLICY_NAME, ROOT_POLICY, is_root_path
from awsbroker.policy.parameters import ParameterRules
from awsbroker.policy.parse import CAPABILITIES, PathRule, Policy, normalize_name, parse_policy

__all__ = [
    "ACL",
    "CAPABILITIES",
    "DEFAULT_POLICY",
    "DEFAULT_POLICY_NAME",
    "ROOT_POLICY",
    "Decision",
    "ParameterRules",
    "PathRule",
    "Policy",
    "is_root_path",
    "normalize_name",
    "parse_policy",
]
