"""Every client the engine uses, from one factory (`MountClients`, a mount's `clients`): the
mount's IAM and STS clients (the light ones, or a test's), clients signed
with a given key (rotations, static roles, the key-propagation check), and IAM clients on
AssumeRole credentials (cross-account static roles). A `ClientMaker` makes them from a
`ClientSpec`; unit tests may pass an in-process fake.

The mount's clients are cached by the `ClientSpec` they were built from, and every use reads
`config/root` as stored now: another process sharing the storage may have rotated the key or
moved an endpoint, and a request must not run on the old one. Tests point the endpoints at a
moto server; nothing is patched.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from awsbroker.engines.aws.records.root_config import RootConfig
from awsbroker.engines.aws.transport.api import IAM, STS
from awsbroker.engines.aws.transport.boto import BotoClients, build_iam, build_sts
from awsbroker.engines.aws.transport.endpoints import (
    ClientSpec,
    iam_spec,
    signed_spec,
    sts_specs,
)
from awsbroker.engines.aws.transport.errors import AWS_ERRORS
from awsbroker.engines.aws.transport.light_iam import LightIAM
from awsbroker.engines.aws.transport.light_sts import LightSTS
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.telemetry import NullTelemetry, Telemetry

if TYPE_CHECKING:
    from awsbroker.engines.aws.transport.api import AssumeRoleRequest


class ClientMaker(Protocol):
    """Makes the mount's clients: the light ones (`LightClients`), boto3's (`BotoClients`), or
    a test's in-process fake."""

    def iam(self, spec: ClientSpec, telemetry: Telemetry) -> IAM: ...

    def sts(self, spec: ClientSpec, telemetry: Telemetry) -> STS: ...


class LightClients:
    """The `ClientMaker` of the light IAM and STS clients, each with its boto3 client beside."""

    def iam(self, spec: ClientSpec, telemetry: Telemetry) -> LightIAM:
        return LightIAM(build_iam(spec, telemetry), telemetry)

    def sts(self, spec: ClientSpec, telemetry: Telemetry) -> LightSTS:
        return LightSTS(build_sts(spec, telemetry), telemetry)


class MountClients:
    """IAM and STS clients for one mount, made by `maker` (the light ones by default), for
    `config/root` as stored now.

    Each `iam()` and `sts()` reads the config (one storage read) and reuses the cached client
    only if the spec it derives is the one the client was built from; otherwise it builds
    another. So a key rotated, or a region or endpoint written, on another process is used by
    this one's next call, and no AWS call is made unless the config changed (the STS fallback
    probe runs once per config)."""

    def __init__(
        self,
        load_config: Callable[[], RootConfig],
        telemetry: Telemetry | None = None,
        maker: ClientMaker | None = None,
        local: ClientMaker | None = None,
    ) -> None:
        self._load = load_config
        # Every client made here reports its calls (metrics.py).
        self.telemetry = telemetry or NullTelemetry()
        # The light IAM and STS clients (light_iam.py, light_sts.py) by default.
        self._maker: ClientMaker = maker or LightClients()
        # Clients signed with a one-off key (boto3's by default).
        self._local: ClientMaker = local or BotoClients()
        self._lock = threading.Lock()
        # The client and the spec(s) it was built from. A replaced client is not closed here:
        # a request may still be using it; it closes when the last reference goes.
        self._iam: tuple[ClientSpec, IAM] | None = None
        self._sts: tuple[tuple[ClientSpec, ...], STS] | None = None

    def iam(self, config: RootConfig | None = None) -> IAM:
        """The mount's IAM client for `config` (the request's read of config/root; read now
        when not given)."""
        spec = iam_spec(self._config(config))
        with self._lock:
            if self._iam is None or self._iam[0] != spec:
                self._iam = (spec, self._new_iam(spec))
            return self._iam[1]

    def sts(self, config: RootConfig | None = None) -> STS:
        """The mount's STS client for `config`, as `iam`."""
        specs = sts_specs(self._config(config))
        with self._lock:
            if self._sts is None or self._sts[0] != specs:
                self._sts = (specs, self._first_working_sts(specs))
            return self._sts[1]

    def _config(self, config: RootConfig | None) -> RootConfig:
        return config if config is not None else self._load()

    def _new_iam(self, spec: ClientSpec) -> IAM:
        return self._maker.iam(spec, self.telemetry)

    def _new_sts(self, spec: ClientSpec) -> STS:
        return self._maker.sts(spec, self.telemetry)

    def _first_working_sts(self, specs: tuple[ClientSpec, ...]) -> STS:
        last: Exception | None = None
        for spec in specs:
            client = self._new_sts(spec)
            if len(specs) == 1:
                return client
            try:
                client.get_caller_identity()
                return client
            except AWS_ERRORS as exc:
                last = exc
        raise InvalidRequest(f"could not obtain sts client: {last}")

    def signed_iam(
        self, config: RootConfig, access_key: str, secret_key: str, session_token: str = ""
    ) -> IAM:
        """An IAM client signed with the given key (not the mount's), on the config's IAM
        endpoint. Close it."""
        spec = signed_spec(config, "iam", access_key, secret_key, session_token)
        return self._local.iam(spec, self.telemetry)

    def signed_sts(self, config: RootConfig, access_key: str, secret_key: str) -> STS:
        """An STS client signed with the given key, on the config's first STS endpoint. Close
        it."""
        return self._local.sts(signed_spec(config, "sts", access_key, secret_key), self.telemetry)

    def assumed_iam(self, config: RootConfig, request: AssumeRoleRequest) -> IAM:
        """An IAM client on the credentials of AssumeRole `request`, made with the mount's STS
        client (a role in another account). AWS's errors are raised as they come. Close it."""
        credentials = self.sts().assume_role(**request)["Credentials"]
        return self.signed_iam(
            config,
            credentials["AccessKeyId"],
            credentials["SecretAccessKey"],
            credentials["SessionToken"],
        )
