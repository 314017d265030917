"""The `config/root` record: the engine's AWS credentials and client settings."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from awsbroker.engines.aws.schedule import validate_root_fields
from awsbroker.engines.aws.username_template import DEFAULT_TEMPLATE
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.gotemplate import TemplateError, parse
from awsbroker.sdk.logical import JSONObject

if TYPE_CHECKING:
    from awsbroker.engines.aws.backend import AWSBackend

STORAGE_KEY = "config/root"
_ENTERPRISE_ONLY = "plugin workload identity not supported in awsbroker"


@dataclass
class RootConfig:
    access_key: str = ""
    secret_key: str = field(default="", repr=False)
    region: str = ""
    iam_endpoint: str = ""
    sts_endpoint: str = ""
    sts_region: str = ""
    sts_fallback_endpoints: list[str] = field(default_factory=list)
    sts_fallback_regions: list[str] = field(default_factory=list)
    max_retries: int = -1
    username_template: str = DEFAULT_TEMPLATE
    role_arn: str = ""
    identity_token_audience: str = ""
    identity_token_ttl: int = 0
    rotation_period: int = 0
    rotation_schedule: str = ""
    rotation_window: int = 0
    disable_automated_rotation: bool = False
    # Console sign-in (issue 19 section 2): AWS's sign-in federation endpoint; empty means the
    # partition's (transport/federation.py).
    federation_endpoint: str = ""

    def validate(self) -> None:
        if len(self.sts_fallback_endpoints) != len(self.sts_fallback_regions):
            raise InvalidRequest("fallback endpoints and fallback regions must be the same length")
        if self.rotation_schedule and self.rotation_period:
            raise InvalidRequest(
                "mutually exclusive fields rotation_schedule and rotation_period were both "
                "specified; only one of them can be provided"
            )
        if self.rotation_window and self.rotation_period:
            raise InvalidRequest("rotation_window does not apply to period")
        if self.rotation_window and not self.rotation_schedule:
            raise InvalidRequest("cannot use rotation_window without rotation_schedule")
        validate_root_fields(self.rotation_period, self.rotation_schedule, self.rotation_window)
        if self.identity_token_audience and self.access_key:
            raise InvalidRequest("only one of 'access_key' or 'identity_token_audience' can be set")
        if self.identity_token_audience and not self.role_arn:
            raise InvalidRequest(
                "missing required 'role_arn' when 'identity_token_audience' is set"
            )
        if self.identity_token_audience:
            raise InvalidRequest(_ENTERPRISE_ONLY)
        try:
            parse(self.username_template)
        except TemplateError as exc:
            raise InvalidRequest(f"unable to initialize username template: {exc}") from None

    def to_response(self) -> JSONObject:
        data: JSONObject = dict(asdict(self))
        del data["secret_key"]
        return data

    def to_record(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_record(cls, blob: bytes) -> RootConfig:
        return cls(**json.loads(blob))


def load(backend: AWSBackend) -> RootConfig | None:
    blob = backend.storage.get(STORAGE_KEY)
    return None if blob is None else RootConfig.from_record(blob)


def current(backend: AWSBackend) -> RootConfig:
    """`config/root` as stored now, or the defaults when none is (the default credential
    chain, the default region and endpoints)."""
    return load(backend) or RootConfig()
