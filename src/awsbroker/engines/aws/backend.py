"""The AWS secrets engine: its table of contents.

The paths (root config, roles, credentials) arrive with the engine's own issue; until then a
mount of type `aws` can be enabled, tuned and disabled, and every path below it is unsupported.
"""

from __future__ import annotations

from awsbroker.sdk.framework import BackendConfig, FrameworkBackend


class AWSBackend(FrameworkBackend["AWSBackend"]):
    def __init__(self, config: BackendConfig) -> None:
        super().__init__(self, paths=[])
        self.config = config


def factory(config: BackendConfig) -> AWSBackend:
    return AWSBackend(config)
