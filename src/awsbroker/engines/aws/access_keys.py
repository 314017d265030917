"""IAM access keys of one user: list, create, delete, check, and clients signed with a key.

AWS allows two access keys per user. Deleting a key that is already gone counts as done.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import boto3

from awsbroker.engines.aws.client import (
    AWS_ERRORS,
    botocore_config,
    error_code,
    fallback_region,
    sts_candidates,
)
from awsbroker.engines.aws.path_config_root import RootConfig
from awsbroker.sdk.errors import InternalError

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_sts import STSClient

KEY_LIMIT = 2


def list_keys(iam: IAMClient, user: str) -> list[str]:
    """The user's access key IDs, oldest first."""
    metadata = iam.list_access_keys(UserName=user, MaxItems=100)["AccessKeyMetadata"]
    ordered = sorted(metadata, key=lambda k: (k.get("CreateDate") or 0, k["AccessKeyId"]))
    return [k["AccessKeyId"] for k in ordered]


def create_key(iam: IAMClient, user: str) -> tuple[str, str]:
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def delete_key(iam: IAMClient, user: str, key_id: str) -> None:
    try:
        iam.delete_access_key(UserName=user, AccessKeyId=key_id)
    except AWS_ERRORS as exc:
        if error_code(exc) != "NoSuchEntity":
            raise


def iam_client(
    config: RootConfig, access_key: str, secret_key: str, session_token: str | None = None
) -> IAMClient:
    """An IAM client signed with the given key (not the mount's cached one). Close it."""
    session = boto3.session.Session(
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        aws_session_token=session_token,
    )
    return session.client(
        "iam",
        region_name=config.region or fallback_region(),
        endpoint_url=config.iam_endpoint or None,
        config=botocore_config(config),
    )


def sts_client(config: RootConfig, access_key: str, secret_key: str) -> STSClient:
    """An STS client signed with the given key, on the config's first STS endpoint."""
    region, endpoint = sts_candidates(config)[0]
    session = boto3.session.Session(aws_access_key_id=access_key, aws_secret_access_key=secret_key)
    return session.client(
        "sts", region_name=region, endpoint_url=endpoint, config=botocore_config(config)
    )


def verify_key(
    config: RootConfig,
    access_key: str,
    secret_key: str,
    user: str,
    *,
    timeout: float,
    now: Callable[[], float],
    sleep: Callable[[float], None],
) -> None:
    """Prove the key works: STS GetCallerIdentity with it answers as `user`. IAM takes a few
    seconds to accept a new key everywhere, so failures are retried until `timeout`."""
    sts = sts_client(config, access_key, secret_key)
    deadline = now() + timeout
    delay = 0.5
    try:
        while True:
            try:
                arn = sts.get_caller_identity()["Arn"]
                break
            except AWS_ERRORS as exc:
                left = deadline - now()
                if left <= 0:
                    raise InternalError(
                        f"the new access key was not accepted by AWS within {timeout:g}s: {exc}"
                    ) from exc
                sleep(min(delay, left))
                delay = min(delay * 2, 5.0)
    finally:
        sts.close()
    if arn.rsplit("/", 1)[-1] != user or ":user/" not in arn:
        raise InternalError(f"the new access key belongs to {arn}, not to IAM user {user!r}")
