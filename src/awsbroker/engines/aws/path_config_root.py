"""`config/root`: the engine's AWS credentials and client settings.

The first write creates the config with defaults for what it leaves out; later writes merge,
keeping stored values for fields not sent, except `username_template`, which is reset to the
default when not sent (Vault 1.19+). `secret_key` is never read back. The rotation fields
schedule automated rotation of the key (`root_schedule.py`), in the free product too; a read
shows Vault's `last_vault_rotation` and `next_vault_rotation`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, cast

from awsbroker.engines.aws.schedule import validate_root_fields
from awsbroker.engines.aws.username_template import DEFAULT_TEMPLATE, TemplateError, parse
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import JSONObject, Operation, Request, Response
from awsbroker.sdk.storage import update

if TYPE_CHECKING:
    from awsbroker.engines.aws.backend import AWSBackend

STORAGE_KEY = "config/root"
_ENTERPRISE_ONLY = "plugin workload identity not supported in awsbroker"


def paths() -> list[Path[AWSBackend]]:
    return [
        Path(
            "config/root",
            {
                Operation.READ: read_config,
                Operation.CREATE: write_config,
                Operation.UPDATE: write_config,
            },
            {
                "access_key": Field(T.STRING, "Access key ID of the engine's IAM user"),
                "secret_key": Field(T.STRING, "Secret access key; never read back"),
                "region": Field(T.STRING, "Region for API calls"),
                "iam_endpoint": Field(T.STRING, "Custom IAM endpoint URL"),
                "sts_endpoint": Field(T.STRING, "Custom STS endpoint URL"),
                "sts_region": Field(T.STRING, "Region for STS, used with sts_endpoint"),
                "sts_fallback_endpoints": Field(
                    T.STRING_LIST, "STS endpoints tried after sts_endpoint"
                ),
                "sts_fallback_regions": Field(T.STRING_LIST, "Regions of the fallback endpoints"),
                "max_retries": Field(
                    T.INT, "Retries of AWS calls; -1 is the SDK default", default=-1
                ),
                "username_template": Field(
                    T.STRING, "Template of generated user and session names"
                ),
                "role_arn": Field(T.STRING, "Plugin workload identity role (not supported)"),
                "identity_token_audience": Field(
                    T.STRING, "Plugin workload identity (not supported)"
                ),
                "identity_token_ttl": Field(T.DURATION, "Plugin workload identity (not supported)"),
                "rotation_period": Field(T.DURATION, "Automated root rotation period"),
                "rotation_schedule": Field(T.STRING, "Automated root rotation cron schedule"),
                "rotation_window": Field(T.DURATION, "Window after the schedule to rotate in"),
                "disable_automated_rotation": Field(T.BOOL, "Turn automated root rotation off"),
            },
            existence_check=config_exists,
            summary="Configure the root credentials the engine uses",
        )
    ]


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
        data = cast(JSONObject, asdict(self))
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


def config_exists(b: AWSBackend, req: Request, fd: FieldData) -> bool:
    return b.storage.get(STORAGE_KEY) is not None


def read_config(b: AWSBackend, req: Request, fd: FieldData) -> Response | None:
    from awsbroker.engines.aws import root_schedule

    config = load(b)
    if config is None:
        return None
    return Response(data=config.to_response() | root_schedule.rotation_info(b))


def write_config(b: AWSBackend, req: Request, fd: FieldData) -> None:
    from awsbroker.engines.aws import root_schedule

    # Merged into the config as stored at the moment of the write, not as read at the start
    # of the request: a rotation of the key on another process (or another write) that lands
    # in between is kept (`update` redoes the merge over it).
    update(b.storage, STORAGE_KEY, lambda stored: _merged(stored, fd).to_record())
    root_schedule.configured(b)


def _merged(stored: bytes | None, fd: FieldData) -> RootConfig:
    """The config this write leaves: the fields sent over the stored ones (the defaults when
    none is stored); `username_template` goes back to the default when not sent."""
    from awsbroker.engines.aws import client

    config = RootConfig() if stored is None else RootConfig.from_record(stored)
    for name in (
        "access_key", "secret_key", "region", "iam_endpoint", "sts_endpoint", "sts_region",
        "role_arn", "identity_token_audience", "rotation_schedule",
    ):  # fmt: skip
        if fd.is_set(name):
            setattr(config, name, fd.get_str(name))
    for name in ("sts_fallback_endpoints", "sts_fallback_regions"):
        if fd.is_set(name):
            setattr(config, name, fd.get_list(name))
    for name in ("identity_token_ttl", "rotation_period", "rotation_window"):
        if fd.is_set(name):
            setattr(config, name, fd.get_duration(name))
    if fd.is_set("max_retries"):  # not sent on the first write: RootConfig's -1, the default
        config.max_retries = fd.get_int("max_retries")
    if fd.is_set("disable_automated_rotation"):
        config.disable_automated_rotation = fd.get_bool("disable_automated_rotation")
    config.username_template = fd.get_str("username_template") or DEFAULT_TEMPLATE
    config.validate()
    client.check_config(config)
    return config
