"""`config/root`: the engine's AWS credentials and client settings.

The first write creates the config with defaults for what it leaves out; later writes merge,
keeping stored values for fields not sent, except `username_template`, which is reset to the
default when not sent (Vault 1.19+). `secret_key` is never read back. The rotation fields
schedule automated rotation of the key (`root_schedule.py`), in the free product too; a read
shows Vault's `last_vault_rotation` and `next_vault_rotation`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from awsbroker.engines.aws import root_schedule
from awsbroker.engines.aws.records.root_config import STORAGE_KEY, RootConfig, load
from awsbroker.engines.aws.transport.endpoints import check_config
from awsbroker.engines.aws.username_template import DEFAULT_TEMPLATE
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import Operation, Request, Response
from awsbroker.sdk.storage import update

if TYPE_CHECKING:
    from awsbroker.engines.aws.backend import AWSBackend


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
                "federation_endpoint": Field(
                    T.STRING, "AWS sign-in federation endpoint URL for console sign-in"
                ),
            },
            existence_check=config_exists,
            summary="Configure the root credentials the engine uses",
        )
    ]


def config_exists(b: AWSBackend, req: Request, fd: FieldData) -> bool:
    return b.storage.get(STORAGE_KEY) is not None


def read_config(b: AWSBackend, req: Request, fd: FieldData) -> Response | None:
    config = load(b)
    if config is None:
        return None
    return Response(data=config.to_response() | root_schedule.rotation_info(b))


def write_config(b: AWSBackend, req: Request, fd: FieldData) -> None:
    # Merged into the config as stored at the moment of the write, not as read at the start
    # of the request: a rotation of the key on another process (or another write) that lands
    # in between is kept (`update` redoes the merge over it).
    update(b.storage, STORAGE_KEY, lambda stored: _merged(stored, fd).to_record())
    root_schedule.configured(b)


def _merged(stored: bytes | None, fd: FieldData) -> RootConfig:
    """The config this write leaves: the fields sent over the stored ones (the defaults when
    none is stored); `username_template` goes back to the default when not sent."""
    config = RootConfig() if stored is None else RootConfig.from_record(stored)
    for name in (
        "access_key", "secret_key", "region", "iam_endpoint", "sts_endpoint", "sts_region",
        "role_arn", "identity_token_audience", "rotation_schedule", "federation_endpoint",
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
    check_config(config)
    return config
